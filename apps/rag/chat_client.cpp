// The only file that includes httplib.h (it is slow to compile). Debian builds libcpp-httplib with OpenSSL, zlib
// and brotli; CMakeLists.txt takes the matching definitions from pkg-config so the class layouts agree.
#include "chat_client.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "leann/error.h"
#include "util/json_limits.h"
#include "util/utf8.h"

namespace leann::rag {
namespace {

using nlohmann::json;

constexpr size_t max_error_body_bytes = 64u << 10;
constexpr size_t max_models_body_bytes = 4u << 20;
constexpr double max_connect_timeout_s = 10;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
}

const char* status_reason(int status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Payload Too Large";
        case 422:
            return "Unprocessable Entity";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "";
    }
}

std::string http_status_text(int status, const std::string& server_message) {
    std::string s = "HTTP " + std::to_string(status);
    if (const char* reason = status_reason(status); *reason) s += std::string(" ") + reason;
    if (!server_message.empty()) s += ": " + server_message;
    return s;
}

// httplib reports a failed connect as Error::Connection without the cause (it polls a non-blocking socket and
// drops SO_ERROR). Connecting once more ourselves tells "refused" from "unreachable" from "no such host", which is
// what a user needs to fix it; this only runs after a failure.
std::string diagnose_connect(const BaseUrl& url, double timeout_s) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(url.port);
    if (int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return std::string("cannot resolve host '") + url.host + "': " + ::gai_strerror(rc);
    std::string what = "could not connect";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        int err = 0;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pollfd p{fd, POLLOUT, 0};
                const int ready = ::poll(&p, 1, int(timeout_s * 1000));
                socklen_t len = sizeof err;
                if (ready == 0)
                    err = ETIMEDOUT;
                else if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                    err = errno;
            }
        }
        ::close(fd);
        if (err == 0) {
            what = "connection dropped before an HTTP reply (is it an HTTP server?)";
            break;
        }
        if (err == ETIMEDOUT)
            what = "connection timed out after " + seconds_text(timeout_s);
        else if (err == ECONNREFUSED)
            what = "connection refused (nothing listens there)";
        else
            what = std::string("could not connect: ") + std::strerror(err);
    }
    ::freeaddrinfo(found);
    return what;
}

std::string describe_failure(httplib::Error error, const BaseUrl& url, double connect_timeout_s,
                             double read_timeout_s) {
    switch (error) {
        case httplib::Error::Connection:
            return diagnose_connect(url, connect_timeout_s);
        case httplib::Error::ConnectionTimeout:
            return "connection timed out after " + seconds_text(connect_timeout_s);
        case httplib::Error::Read:
            return "no reply within " + seconds_text(read_timeout_s) + " (read timeout), or the connection closed";
        case httplib::Error::Write:
            return "the connection closed while sending the request";
        case httplib::Error::SSLConnection:
            return "TLS handshake failed (is it an https server?)";
        case httplib::Error::SSLLoadingCerts:
            return "could not load the system CA certificates";
        case httplib::Error::SSLServerVerification:
            return "the server's TLS certificate did not verify";
        default:
            return "request failed (" + httplib::to_string(error) + ")";
    }
}

std::vector<std::string> parse_model_list(const std::string& body) {
    std::vector<std::string> models;
    const json j = json_limits::parse_or_discarded(utf8::repair(body));
    if (!j.is_object()) return models;
    // OpenAI shape {"data": [{"id": ...}]}; Ollama's native {"models": [{"name": ...}]} for a misconfigured path.
    for (const char* list : {"data", "models"}) {
        auto it = j.find(list);
        if (it == j.end() || !it->is_array()) continue;
        for (const json& m : *it) {
            if (!m.is_object()) continue;
            for (const char* key : {"id", "name", "model"}) {
                if (auto k = m.find(key); k != m.end() && k->is_string()) {
                    models.push_back(k->get<std::string>());
                    break;
                }
            }
        }
    }
    return models;
}

}  // namespace

std::string BaseUrl::origin() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    const bool default_port = port == (scheme == "https" ? 443 : 80);
    return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + (default_port ? "" : ":" + std::to_string(port));
}

BaseUrl parse_base_url(std::string_view text) {
    const std::string url(text);
    auto bad = [&](const std::string& why) { return Error("LLM URL '" + url + "': " + why); };
    BaseUrl b;
    std::string_view rest = text;
    if (auto sep = rest.find("://"); sep != std::string_view::npos) {
        b.scheme = lower(rest.substr(0, sep));
        rest.remove_prefix(sep + 3);
    } else {
        b.scheme = "http";
    }
    if (b.scheme != "http" && b.scheme != "https") throw bad("only http:// and https:// are supported");
    const size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    b.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
    if (authority.find('@') != std::string_view::npos)
        throw bad("credentials in the URL are not supported; use LEANN_LLM_API_KEY");
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) throw bad("unclosed '[' in the host");
        b.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw bad("unexpected text after the host");
            port_text = after.substr(1);
        }
    } else {
        const size_t colon = authority.rfind(':');
        b.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (b.host.empty()) throw bad("no host");
    b.port = b.scheme == "https" ? 443 : 80;
    if (!port_text.empty()) {
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), b.port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || b.port < 1 || b.port > 65535)
            throw bad("bad port '" + std::string(port_text) + "'");
    }
    if (auto q = b.path.find_first_of("?#"); q != std::string::npos) b.path.resize(q);
    while (!b.path.empty() && b.path.back() == '/') b.path.pop_back();
    for (std::string_view tail : {"/chat/completions", "/models"}) {
        if (b.path.size() >= tail.size() && b.path.compare(b.path.size() - tail.size(), tail.size(), tail) == 0) {
            b.path.resize(b.path.size() - tail.size());
            break;
        }
    }
    if (b.path.empty()) b.path = "/v1";
    return b;
}

struct ChatClient::Impl {
    LlmSettings settings;
    BaseUrl url;
    std::string model;
    std::vector<std::string> models;
    std::unique_ptr<httplib::Client> http;

    double connect_timeout_s() const { return std::min(settings.timeout_s, max_connect_timeout_s); }

    httplib::Headers headers() const {
        httplib::Headers h = {{"User-Agent", "leann-ask"}};
        if (!settings.api_key.empty()) h.emplace("Authorization", "Bearer " + settings.api_key);
        return h;
    }

    std::string key_hint() const {
        return settings.api_key.empty() ? " (the server wants an API key: set LEANN_LLM_API_KEY or OPENAI_API_KEY)"
                                        : " (the API key from LEANN_LLM_API_KEY / OPENAI_API_KEY was refused)";
    }
};

namespace {

std::unique_ptr<httplib::Client> make_http(const BaseUrl& url, double connect_timeout_s, double read_timeout_s) {
    auto http = std::make_unique<httplib::Client>(url.origin());
    if (!http->is_valid()) throw Error("LLM URL '" + url.str() + "': cannot make a client for it");
    auto set = [](double s, auto&& setter) {
        const double whole = std::floor(s);
        setter(time_t(whole), time_t((s - whole) * 1e6));
    };
    set(connect_timeout_s, [&](time_t sec, time_t usec) { http->set_connection_timeout(sec, usec); });
    set(read_timeout_s, [&](time_t sec, time_t usec) { http->set_read_timeout(sec, usec); });
    set(read_timeout_s, [&](time_t sec, time_t usec) { http->set_write_timeout(sec, usec); });
    return http;
}

// Enforces LlmSettings::deadline_s over one request: httplib's timeouts are per read, so a server sending a byte
// now and then would hold a request forever. At the deadline the watchdog shuts the socket down (Client::stop() is
// meant to be called from another thread), which ends the request with an error.
class Deadline {
public:
    Deadline(httplib::Client& http, double seconds)
        : http_(http), at_(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                  std::chrono::duration<double>(seconds))) {
        thread_ = std::thread([this] {
            std::unique_lock lock(mutex_);
            if (done_cv_.wait_until(lock, at_, [this] { return done_; })) return;
            expired_ = true;
            // Again until the request returns: a stop() while the socket is still being connected has nothing to
            // shut down yet.
            do http_.stop();
            while (!done_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return done_; }));
        });
    }
    ~Deadline() { finish(); }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    /// Stops the watchdog; true when the deadline had passed (and the request was cut).
    bool finish() {
        if (thread_.joinable()) {
            {
                std::lock_guard lock(mutex_);
                done_ = true;
            }
            done_cv_.notify_one();
            thread_.join();
        }
        return expired_ || passed();
    }
    bool passed() const { return std::chrono::steady_clock::now() >= at_; }

private:
    httplib::Client& http_;
    std::chrono::steady_clock::time_point at_;
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    bool expired_ = false;
    std::thread thread_;
};

std::string deadline_text(double s) {
    return "no complete reply within " + seconds_text(s) + " in all (--deadline-s)";
}

}  // namespace

ChatClient ChatClient::connect(const LlmSettings& settings) {
    if (settings.urls.empty()) throw Error("no LLM URL to try");
    if (!(settings.timeout_s > 0)) throw Error("the LLM timeout must be positive");
    std::vector<std::string> tried;
    for (const std::string& text : settings.urls) {
        auto impl = std::make_unique<Impl>();
        impl->settings = settings;
        impl->url = parse_base_url(text);
        impl->http = make_http(impl->url, impl->connect_timeout_s(), settings.timeout_s);
        const std::string models_url = impl->url.str() + "/models";
        int status = 0;
        std::string body;  // bounded: a server may send anything here
        Deadline deadline(*impl->http, settings.deadline_s);
        const auto res = impl->http->Get(
            impl->url.path + "/models", impl->headers(),
            [&](const httplib::Response& r) {
                status = r.status;
                return true;
            },
            [&](const char* data, size_t n) {
                body.append(data, std::min(n, max_models_body_bytes - std::min(max_models_body_bytes, body.size())));
                return true;
            });
        if (deadline.finish()) {
            tried.push_back(impl->url.str() + ": " + deadline_text(settings.deadline_s));
            continue;
        }
        if (!res) {
            tried.push_back(impl->url.str() + ": " +
                            describe_failure(res.error(), impl->url, impl->connect_timeout_s(), settings.timeout_s));
            continue;
        }
        // A server answers here: use it, even if it has no /models route, when the model is known.
        if (status == 401 || status == 403)
            throw Error("GET " + models_url + ": " + http_status_text(status, server_error_message(body)) +
                        impl->key_hint());
        if (status >= 200 && status < 300) impl->models = parse_model_list(body);
        impl->model = settings.model;
        if (impl->model.empty()) {
            if (status < 200 || status >= 300)
                throw Error("GET " + models_url + ": " + http_status_text(status, server_error_message(body)) +
                            "; cannot list the models there: name one with --llm-model or LEANN_LLM_MODEL");
            if (impl->models.empty())
                throw Error("the LLM server at " + impl->url.str() +
                            " lists no models: load or pull one (e.g. `ollama pull llama3.2`), or name one with "
                            "--llm-model");
            impl->model = impl->models.front();
        }
        return ChatClient(std::move(impl));
    }
    std::string message = "no LLM server answered. Tried:";
    for (const std::string& t : tried) message += "\n  " + t;
    message +=
        "\nStart one (ollama serve, llama-server, LM Studio's server, vllm serve) or point --llm-url / "
        "LEANN_LLM_URL at it (docs/ask.md).";
    throw Error(message);
}

ChatClient::ChatClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatClient::ChatClient(ChatClient&&) noexcept = default;
ChatClient& ChatClient::operator=(ChatClient&&) noexcept = default;
ChatClient::~ChatClient() = default;

std::string ChatClient::base_url() const {
    return impl_->url.str();
}
const std::string& ChatClient::model() const {
    return impl_->model;
}
const std::vector<std::string>& ChatClient::models() const {
    return impl_->models;
}

ChatReply ChatClient::complete(const std::vector<ChatMessage>& messages, const GenerationOptions& options,
                               const ChatReplyDecoder::TokenHandler& on_token) {
    json body = {{"model", impl_->model}, {"stream", options.stream}, {"messages", json::array()}};
    for (const ChatMessage& m : messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
    if (options.temperature) body["temperature"] = *options.temperature;
    if (options.max_tokens) body["max_tokens"] = *options.max_tokens;

    const std::string endpoint = impl_->url.str() + "/chat/completions";
    httplib::Request req;
    req.method = "POST";
    req.path = impl_->url.path + "/chat/completions";
    req.headers = impl_->headers();
    req.headers.emplace("Accept", options.stream ? "text/event-stream, application/json" : "application/json");
    req.headers.emplace("Content-Type", "application/json");
    req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);

    ChatReplyDecoder decoder(on_token, options.keep_answer_bytes);
    int status = 0;
    std::string error_body;
    std::exception_ptr failure;  // thrown inside httplib's callbacks: carried out, not thrown through the library
    req.response_handler = [&](const httplib::Response& r) {
        status = r.status;
        return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        if (status < 200 || status >= 300) {
            error_body.append(data,
                              std::min(n, max_error_body_bytes - std::min(max_error_body_bytes, error_body.size())));
            return true;
        }
        try {
            decoder.feed(std::string_view(data, n));
            return true;
        } catch (...) {
            failure = std::current_exception();
            return false;
        }
    };
    Deadline deadline(*impl_->http, impl_->settings.deadline_s);
    const auto res = impl_->http->send(req);
    if (deadline.finish()) throw Error("POST " + endpoint + ": " + deadline_text(impl_->settings.deadline_s));
    if (failure) std::rethrow_exception(failure);
    if (!res)
        throw Error("POST " + endpoint + ": " +
                    describe_failure(res.error(), impl_->url, impl_->connect_timeout_s(), impl_->settings.timeout_s));
    if (status < 200 || status >= 300) {
        const std::string message = server_error_message(error_body);
        std::string hint;
        const std::string lowered = lower(message);
        if (status == 401 || status == 403) {
            hint = impl_->key_hint();
        } else if ((status == 404 || status == 400) && lowered.find("model") != std::string::npos) {
            hint = " (model '" + impl_->model + "' is not available there";
            if (!impl_->models.empty()) {
                hint += "; the server lists:";
                for (size_t i = 0; i < impl_->models.size() && i < 10; ++i) hint += " " + impl_->models[i];
            }
            hint += "; choose one with --llm-model)";
        } else if (status == 404) {
            hint = " (is the base URL right? OpenAI-compatible servers serve under /v1)";
        }
        throw Error("POST " + endpoint + " (model " + impl_->model + "): " + http_status_text(status, message) + hint);
    }
    try {
        return decoder.finish();
    } catch (const Error& e) {
        throw Error(std::string("POST ") + endpoint + ": " + e.what());
    }
}

}  // namespace leann::rag
