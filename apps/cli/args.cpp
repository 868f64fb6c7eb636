#include "args.h"

#include <charconv>

#include "leann/error.h"

namespace leann::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags) {
    bool only_positionals = false;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (only_positionals || arg.size() < 2 || arg.rfind("-", 0) != 0) {
            positionals_.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_positionals = true;
            continue;
        }
        std::string name = arg.rfind("--", 0) == 0 ? arg.substr(2) : arg.substr(1);
        std::string value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        if (flags.count(name)) {
            if (inline_value) throw Error("option --" + name + " takes no value");
            values_[name] = "1";
        } else if (options.count(name)) {
            if (!inline_value) {
                if (i + 1 >= argv.size()) throw Error("option --" + name + " needs a value");
                value = argv[++i];
            }
            values_[name] = value;
            all_values_[name].push_back(value);
        } else {
            throw Error("unknown option " + arg + " (see --help)");
        }
    }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
    auto it = all_values_.find(name);
    return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

size_t Args::get_size(const std::string& name, size_t fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    size_t value = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw Error("option --" + name + " expects a non-negative integer, got '" + text + "'");
    return value;
}

double Args::get_double(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    double value = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw Error("option --" + name + " expects a number, got '" + text + "'");
    return value;
}

}  // namespace leann::cli
