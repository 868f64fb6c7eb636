// leann model list | info NAME
#include <cstdio>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "leann/error.h"
#include "leann/model.h"

namespace leann::cli {
namespace {

constexpr const char* model_usage = R"(Usage:
  leann model list [--json]          models installed in the model cache
  leann model info NAME [--json]     NAME: a model in the cache, or a path to a model folder
)";

nlohmann::json to_json(const ModelInfo& info) {
    return {{"name", info.name},
            {"path", info.dir.string()},
            {"architecture", info.architecture},
            {"dims", info.hidden_size},
            {"layers", info.num_layers},
            {"heads", info.num_heads},
            {"intermediate_size", info.intermediate_size},
            {"vocab_size", info.vocab_size},
            {"pooling", std::string(pooling_name(info.pooling))},
            {"normalize", info.normalize},
            {"max_seq_length", info.max_seq_length},
            {"hidden_act", info.hidden_act},
            {"query_prompt", info.query_prompt},
            {"passage_prompt", info.passage_prompt},
            {"weights", info.weights_file.filename().string()},
            {"parameters", info.parameter_count},
            {"content_hash", info.content_hash}};
}

void print_info(const ModelInfo& info) {
    std::printf("name            %s\n", info.name.c_str());
    std::printf("path            %s\n", info.dir.c_str());
    std::printf("architecture    %s (%zu layers, %zu heads, intermediate %zu)\n", info.architecture.c_str(),
                info.num_layers, info.num_heads, info.intermediate_size);
    std::printf("dims            %zu\n", info.hidden_size);
    std::printf("pooling         %s\n", std::string(pooling_name(info.pooling)).c_str());
    std::printf("normalize       %s\n", info.normalize ? "yes (L2)" : "no");
    std::printf("max length      %zu tokens\n", info.max_seq_length);
    if (!info.query_prompt.empty() || !info.passage_prompt.empty())
        std::printf("prompts         query \"%s\", passage \"%s\"\n", info.query_prompt.c_str(),
                    info.passage_prompt.c_str());
    std::printf("parameters      %llu (%.1fM)\n", static_cast<unsigned long long>(info.parameter_count),
                static_cast<double>(info.parameter_count) / 1e6);
    std::printf("weights         %s\n", info.weights_file.filename().c_str());
    std::printf("content hash    %s\n", info.content_hash.c_str());
}

}  // namespace

int run_model(const std::vector<std::string>& argv) {
    Args args(argv, {}, {"json", "help", "h"});
    const auto& pos = args.positionals();
    if (args.has("help") || args.has("h") || pos.empty()) {
        std::fputs(model_usage, pos.empty() && !args.has("help") && !args.has("h") ? stderr : stdout);
        return pos.empty() && !args.has("help") && !args.has("h") ? 2 : 0;
    }
    if (pos[0] == "list") {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& name : installed_models()) {
            try {
                ModelInfo info = read_model_info(model_cache_dir() / name);
                if (args.has("json")) {
                    list.push_back(to_json(info));
                } else {
                    std::printf("%-28s %4zu dims  %-5s %-10s %6.1fM params\n", name.c_str(), info.hidden_size,
                                std::string(pooling_name(info.pooling)).c_str(),
                                info.normalize ? "normalized" : "raw",
                                static_cast<double>(info.parameter_count) / 1e6);
                }
            } catch (const Error& e) {
                if (args.has("json")) {
                    list.push_back({{"name", name}, {"error", e.what()}});
                } else {
                    std::printf("%-28s broken: %s\n", name.c_str(), e.what());
                }
            }
        }
        if (args.has("json")) std::printf("%s\n", list.dump(2).c_str());
        else if (list.empty() && installed_models().empty())
            std::fprintf(stderr, "no models in %s (install one with scripts/fetch_model.sh)\n",
                         model_cache_dir().c_str());
        return 0;
    }
    if (pos[0] == "info") {
        if (pos.size() != 2) throw Error("model info takes one NAME");
        ModelInfo info = read_model_info(resolve_model(pos[1]));
        if (args.has("json")) {
            std::printf("%s\n", to_json(info).dump(2).c_str());
        } else {
            print_info(info);
        }
        return 0;
    }
    throw Error("unknown model command '" + pos[0] + "' (list, info)");
}

}  // namespace leann::cli
