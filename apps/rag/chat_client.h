// A client of the OpenAI-compatible chat API that local and remote LLM servers speak (Ollama, llama.cpp server,
// LM Studio, vLLM, OpenAI): GET {base}/models to find a server and its models, POST {base}/chat/completions to get
// an answer, streamed or whole. http and https (system CA certificates).
//
// Errors are leann::Error with a message a user can act on: which URL, what happened (connection refused, timed
// out, HTTP status and the server's own message), and what to try. A ChatClient is not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat_reply.h"
#include "prompt.h"

namespace leann::rag {

/// Where local servers listen by default, tried in this order when no URL is configured: Ollama, llama.cpp's
/// llama-server, LM Studio.
inline const std::vector<std::string>& default_llm_urls() {
    static const std::vector<std::string> urls = {"http://127.0.0.1:11434/v1", "http://127.0.0.1:8080/v1",
                                                  "http://127.0.0.1:1234/v1"};
    return urls;
}

struct LlmSettings {
    std::vector<std::string> urls;  // base URLs (".../v1") tried in order; the first that answers HTTP is used
    std::string model;              // empty: the first model GET {base}/models lists
    std::string api_key;            // sent as "Authorization: Bearer KEY" when not empty
    double timeout_s = 120;         // for connecting (at most 10 s of it) and for each wait on the reply's bytes
    double deadline_s = 600;        // for one request in all, however slowly the server trickles its bytes
};

struct GenerationOptions {
    bool stream = true;
    std::optional<double> temperature;
    std::optional<size_t> max_tokens;
    size_t keep_answer_bytes = max_reply_bytes;  // how much of the answer ChatReply::content keeps
};

/// A base URL taken apart. "localhost:11434" gains "http://"; a URL with no path gains "/v1" (every
/// OpenAI-compatible server serves there); a trailing "/chat/completions" or "/" is dropped.
struct BaseUrl {
    std::string scheme;  // "http" or "https"
    std::string host;    // without IPv6 brackets
    int port = 0;
    std::string path;            // "/v1"
    std::string origin() const;  // "http://host:port" (no port when it is the default one)
    std::string str() const { return origin() + path; }
};
/// Throws leann::Error for anything that is not an http(s) URL.
BaseUrl parse_base_url(std::string_view url);

class ChatClient {
public:
    /// Tries settings.urls in order and settles on the first server that answers, then on the model. Throws
    /// leann::Error naming every URL tried and what happened at each when none answers.
    static ChatClient connect(const LlmSettings& settings);

    ChatClient(ChatClient&&) noexcept;
    ChatClient& operator=(ChatClient&&) noexcept;
    ~ChatClient();

    std::string base_url() const;
    const std::string& model() const;
    /// What GET {base}/models listed (empty when the server has no such route).
    const std::vector<std::string>& models() const;

    /// Sends the messages; `on_token` sees each piece of the answer as it arrives. Throws leann::Error on
    /// transport failures, HTTP errors (status and the server's message) and unreadable replies.
    ChatReply complete(const std::vector<ChatMessage>& messages, const GenerationOptions& options,
                       const ChatReplyDecoder::TokenHandler& on_token);

private:
    struct Impl;
    explicit ChatClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann::rag
