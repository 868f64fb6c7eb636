// A small command-line parser for the leann subcommands: positionals, --flag, --option VALUE, --option=VALUE.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace leann::cli {

class Args {
public:
    /// `options` take a value; `flags` do not. Anything else starting with "--" is an error.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& options, const std::set<std::string>& flags);

    const std::vector<std::string>& positionals() const { return positionals_; }
    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const;
    /// Every value of a repeatable option, in command-line order (get() gives the last).
    std::vector<std::string> get_all(const std::string& name) const;
    /// A non-negative integer option; throws leann::Error naming the option when the value is not one.
    size_t get_size(const std::string& name, size_t fallback) const;
    /// A number option; throws leann::Error naming the option when the value is not one.
    double get_double(const std::string& name, double fallback) const;

private:
    std::vector<std::string> positionals_;
    std::map<std::string, std::string> values_;
    std::map<std::string, std::vector<std::string>> all_values_;
};

}  // namespace leann::cli
