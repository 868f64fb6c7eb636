// leann ask: retrieve passages from an index, hand them to an OpenAI-compatible LLM as fenced, untrusted reference
// data (apps/rag/prompt.h), stream the answer, and list the sources. One question, or an interactive session that
// retrieves afresh for every question and keeps the last few turns as chat history.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>

#include "args.h"
#include "chat_client.h"
#include "commands.h"
#include "index_args.h"
#include "json_output.h"
#include "terminal_text.h"
#include "leann/error.h"
#include "prompt.h"
#include "util/utf8.h"

namespace leann::cli {
namespace {

constexpr const char* ask_usage = R"(Usage: leann ask NAME "question" [options]
       leann ask NAME [options]          (interactive: one question per line; "exit" or Ctrl-D quits)
       (--index PATH in place of NAME)

Retrieves the best passages for the question and asks an OpenAI-compatible LLM server to answer from them,
citing them as [n]. The passages are sent fenced and labelled as untrusted data (docs/ask.md).

LLM options:
  --llm-url URL[,URL...] base URL(s) of the server, tried in order (default: $LEANN_LLM_URL, else the local
                         servers http://127.0.0.1:11434/v1 (Ollama), :8080/v1 (llama.cpp), :1234/v1 (LM Studio))
  --llm-model NAME       model to ask (default: $LEANN_LLM_MODEL, else the first one the server lists)
                         API key: $LEANN_LLM_API_KEY, else $OPENAI_API_KEY (sent as a bearer token)
  --no-stream            wait for the whole answer instead of printing it as it arrives
  --temperature T        sampling temperature (default: the server's)
  --max-tokens N         longest answer, in tokens (default: the server's)
  --timeout-s S          seconds to wait for the server to connect or to send more of the answer (default: 120)
  --deadline-s S         seconds one request may take in all, however slowly the server sends (default: 600)
  --show-prompt          print the messages sent to the LLM on stderr

Retrieval options:
  --top-k K              passages given to the LLM (default: 5)
  --complexity L         search list size (default: as leann search)
  --context-chars N      budget for all passage text, in UTF-8 bytes; long passages are cut (default: 12000)
  --history N            earlier turns kept as chat history in interactive mode (default: 3; 0: none)
  --model PATH           the embedding model folder (must be the one the index was built with)
  --threads N            encoder threads (default: all cores)

Output:
  --json                 one JSON object per question: {"question", "answer", "model", "finish_reason", "sources"}
)";

constexpr size_t max_history_answer_bytes = 4000;

std::vector<std::string> split_urls(const std::string& list) {
    std::vector<std::string> urls;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string url = list.substr(start, comma - start);
        url.erase(0, url.find_first_not_of(" \t"));
        url.erase(url.find_last_not_of(" \t") + 1);
        if (!url.empty()) urls.push_back(url);
        start = comma + 1;
    }
    return urls;
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

// The answer is model output that may quote passages: escape sequences in it must not drive the user's terminal.
// Drops C0 controls but newline and tab, DEL, and C1 controls (U+0080..U+009F, e.g. the one-byte CSI).
std::string terminal_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) continue;
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0 &&
            static_cast<unsigned char>(text[i + 1]) >= 0x80) {
            ++i;
            continue;
        }
        out += text[i];
    }
    return out;
}

struct AskSession {
    const Index& index;
    rag::ChatClient& llm;
    SearchOptions search;
    rag::PromptOptions prompt_options;
    rag::GenerationOptions generation;
    size_t history_turns = 3;
    bool json = false;
    bool show_prompt = false;
    std::deque<rag::Turn> history;

    void show(const rag::Prompt& prompt) const {
        for (const auto& m : prompt.messages)
            std::fprintf(stderr, "----- %s -----\n%s\n", m.role.c_str(), m.content.c_str());
        std::fprintf(stderr, "-----\n");
    }

    void answer(const std::string& question) {
        const SearchResult found = index.search(question, search);
        std::vector<rag::Passage> passages;
        for (const Hit& h : found.hits) passages.push_back(rag::passage_from_hit(h));
        const rag::Prompt prompt = rag::build_prompt(
            question, passages, std::vector<rag::Turn>(history.begin(), history.end()), prompt_options);
        if (show_prompt) show(prompt);

        bool at_line_start = true;
        auto print_token = [&](std::string_view piece) {
            if (json) return;
            const std::string safe = terminal_safe(piece);
            if (safe.empty()) return;
            std::fwrite(safe.data(), 1, safe.size(), stdout);
            std::fflush(stdout);
            at_line_start = safe.back() == '\n';
        };
        rag::ChatReply reply;
        try {
            reply = llm.complete(prompt.messages, generation, print_token);
        } catch (...) {
            if (!at_line_start) std::fputc('\n', stdout);  // an error after part of the answer starts a new line
            throw;
        }
        const std::string model = reply.model.empty() ? llm.model() : reply.model;
        if (json) {
            nlohmann::json sources = nlohmann::json::array();
            for (size_t i = 0; i < prompt.passages.size(); ++i) {
                nlohmann::json s = apps::hit_json(found.hits[i]);
                s.erase("text");
                s.erase("metadata");
                s["n"] = i + 1;
                s["label"] = prompt.passages[i].source;
                sources.push_back(std::move(s));
            }
            const nlohmann::json out = {{"question", utf8::repair(question)},
                                        {"answer", reply.content},
                                        {"model", model},
                                        {"finish_reason", reply.finish_reason},
                                        {"sources", std::move(sources)}};
            std::printf("%s\n", apps::dump(out).c_str());
        } else {
            if (!at_line_start) std::fputc('\n', stdout);
            if (reply.content.empty()) std::printf("(the model gave an empty answer)\n");
            if (reply.finish_reason == "length")
                std::fprintf(stderr, "(the answer was cut off: it reached --max-tokens or the model's limit)\n");
            if (prompt.passages.empty()) {
                std::printf("\nSources: none (the index returned no passages)\n");
            } else {
                std::printf("\nSources:\n");
                for (size_t i = 0; i < prompt.passages.size(); ++i)
                    std::printf("  [%zu] %s\n", i + 1, apps::escape_controls(prompt.passages[i].source).c_str());
            }
        }
        std::fflush(stdout);

        if (history_turns == 0) return;
        history.push_back({question, rag::truncate_utf8(reply.content, max_history_answer_bytes)});
        while (history.size() > history_turns) history.pop_front();
    }
};

}  // namespace

int run_ask(const std::vector<std::string>& argv) {
    Args args(argv,
              {"index", "top-k", "complexity", "llm-url", "llm-model", "temperature", "max-tokens", "timeout-s",
               "deadline-s", "context-chars", "history", "model", "threads"},
              {"help", "h", "json", "no-stream", "show-prompt"});
    if (args.has("help") || args.has("h")) {
        std::fputs(ask_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    const auto& pos = args.positionals();
    std::string question;
    for (size_t i = shift; i < pos.size(); ++i) question += (question.empty() ? "" : " ") + pos[i];

    SearchOptions search;
    search.top_k = args.get_size("top-k", 5);
    search.complexity = args.get_size("complexity", search.complexity);
    if (search.top_k == 0 || search.top_k > 100) throw Error("--top-k must be between 1 and 100");
    if (search.complexity > 100000) throw Error("--complexity must be at most 100000");

    rag::PromptOptions prompt_options;
    prompt_options.context_bytes = args.get_size("context-chars", prompt_options.context_bytes);
    if (prompt_options.context_bytes < 100 || prompt_options.context_bytes > (64u << 20))
        throw Error("--context-chars must be between 100 and 67108864");

    rag::GenerationOptions generation;
    generation.stream = !args.has("no-stream");
    if (args.has("temperature")) {
        generation.temperature = args.get_double("temperature", 0);
        if (!(*generation.temperature >= 0 && *generation.temperature <= 10))
            throw Error("--temperature must be between 0 and 10");
    }
    if (args.has("max-tokens")) {
        generation.max_tokens = args.get_size("max-tokens", 0);
        if (*generation.max_tokens == 0) throw Error("--max-tokens must be at least 1");
    }

    rag::LlmSettings llm_settings;
    const std::string url_list = args.has("llm-url") ? args.get("llm-url") : env("LEANN_LLM_URL");
    llm_settings.urls = url_list.empty() ? rag::default_llm_urls() : split_urls(url_list);
    if (llm_settings.urls.empty()) throw Error("--llm-url is empty");
    llm_settings.model = args.has("llm-model") ? args.get("llm-model") : env("LEANN_LLM_MODEL");
    llm_settings.api_key = env("LEANN_LLM_API_KEY");
    if (llm_settings.api_key.empty()) llm_settings.api_key = env("OPENAI_API_KEY");
    llm_settings.timeout_s = args.get_double("timeout-s", llm_settings.timeout_s);
    if (!(llm_settings.timeout_s > 0 && llm_settings.timeout_s <= 86400))
        throw Error("--timeout-s must be between 0 and 86400 seconds");
    llm_settings.deadline_s = args.get_double("deadline-s", llm_settings.deadline_s);
    if (!(llm_settings.deadline_s > 0 && llm_settings.deadline_s <= 86400))
        throw Error("--deadline-s must be between 0 and 86400 seconds");

    const size_t history_turns = args.get_size("history", 3);
    if (history_turns > 50) throw Error("--history must be at most 50");
    const bool json = args.has("json");
    // Printed text need not be kept: only what the history (or the JSON answer) uses stays in memory.
    if (!json) generation.keep_answer_bytes = max_history_answer_bytes;

    // The LLM first: a missing server is the likeliest failure, and finding it costs less than loading the model.
    rag::ChatClient llm = rag::ChatClient::connect(llm_settings);
    const bool interactive = question.empty();
    if (!json && (interactive || isatty(STDERR_FILENO)))
        std::fprintf(stderr, "leann ask: %s at %s\n", terminal_safe(llm.model()).c_str(), llm.base_url().c_str());
    const Index index = open_index(args, path, true);

    AskSession session{index, llm, search, prompt_options, generation, history_turns, json, args.has("show-prompt"),
                       {}};
    if (!interactive) {
        session.answer(question);
        return 0;
    }
    const bool tty = isatty(STDIN_FILENO) != 0;
    if (tty) std::fprintf(stderr, "Ask a question; \"exit\" or Ctrl-D quits.\n");
    std::string line;
    bool failed = false;
    for (;;) {
        if (tty) {
            std::fputs("> ", stdout);
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos) continue;
        line = line.substr(first, line.find_last_not_of(" \t") - first + 1);
        if (line == "exit" || line == "quit") break;
        // One failed question (a server hiccup, a timeout) does not end the session; the exit status records it.
        try {
            session.answer(line);
        } catch (const Error& e) {
            std::fflush(stdout);
            std::fprintf(stderr, "leann ask: error: %s\n", e.what());
            failed = true;
        }
        if (tty && !json) std::fputc('\n', stdout);
    }
    if (tty) std::fputc('\n', stdout);
    return failed ? 1 : 0;
}

}  // namespace leann::cli
