#include "http_routes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "http_auth.h"
#include "http_params.h"
#include "json_output.h"
#include "leann/error.h"
#include "leann/model.h"
#include "leann/version.h"
#include "search_page.h"
#include "leann/filter.h"

namespace leann::server {
namespace {

// Routes and the methods they take: an unknown path is 404, a known one with another method 405 + Allow.
enum class Route { page, health, indexes, index_stats, search, embeddings, none };

Route match(const std::string& path) {
    if (path == "/" || path.rfind("/static/", 0) == 0) return Route::page;
    if (path == "/health") return Route::health;
    if (path == "/indexes" || path == "/indexes/") return Route::indexes;
    if (path.rfind("/indexes/", 0) == 0) return Route::index_stats;
    if (path == "/search") return Route::search;
    if (path == "/v1/embeddings" || path == "/embeddings") return Route::embeddings;
    return Route::none;
}

const char* allowed_method(Route route) {
    return route == Route::search || route == Route::embeddings ? "POST" : "GET";
}

// A model as a request may name it: a plain cache name, optionally "org/name" as Hugging Face writes it. Never a
// path: a request must not make the server read an arbitrary folder.
std::string plain_model_name(const std::string& requested) {
    std::string name = requested;
    if (auto slash = name.find('/'); slash != std::string::npos && name.find('/', slash + 1) == std::string::npos)
        name = name.substr(slash + 1);
    const bool ok = !name.empty() && name.size() <= 128 && name.front() != '.' &&
                    name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                        std::string::npos;
    if (!ok) throw HttpError(400, "invalid_field", "'model' is not a model name: '" + requested + "'");
    return name;
}

void append_float(std::string& out, float v) {
    if (!std::isfinite(v)) v = 0;  // JSON has no NaN; an encoder never gives one, but never emit invalid JSON
    char buf[32];
    // Shortest text that reads back as the same float: half the bytes of printing the widened double.
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
}

std::string base64_of(const float* data, size_t count) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* bytes = reinterpret_cast<const unsigned char*>(data);  // little-endian float32, as OpenAI sends
    const size_t n = count * sizeof(float);
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t b0 = bytes[i], b1 = i + 1 < n ? bytes[i + 1] : 0, b2 = i + 2 < n ? bytes[i + 2] : 0;
        const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
        out += alphabet[(triple >> 18) & 63];
        out += alphabet[(triple >> 12) & 63];
        out += i + 1 < n ? alphabet[(triple >> 6) & 63] : '=';
        out += i + 2 < n ? alphabet[triple & 63] : '=';
    }
    return out;
}

}  // namespace

Api::Api(Catalog& catalog, ApiConfig config)
    : catalog_(catalog),
      config_(std::move(config)),
      started_(std::chrono::steady_clock::now()),
      work_(config_.limits.workers, config_.limits.queue) {}

ApiResponse Api::handle(const ApiRequest& request) {
    ++requests_;
    try {
        return route(request);
    } catch (const HttpError& e) {
        return error_response(e.status(), e.code(), e.what());
    } catch (const NotFoundError& e) {
        return error_response(404, "index_not_found", e.what());
    } catch (const FilterError& e) {
        // A filter naming a field, type or language the index does not have: the caller's to fix.
        return error_response(400, "invalid_filter", e.what());
    } catch (const Error& e) {
        // A library error on a request that passed validation: the index or the model cannot be used.
        return error_response(500, "server_error", e.what());
    } catch (const std::bad_alloc&) {
        return error_response(503, "out_of_memory", "the server ran out of memory for this request");
    } catch (const std::exception& e) {
        return error_response(500, "internal_error", e.what());
    } catch (...) {
        return error_response(500, "internal_error", "unknown failure");
    }
}

std::optional<ApiResponse> Api::admit(const ApiRequest& req) const {
    // A page on another site must not drive the user's browser against us; without a token, a Host that is not
    // loopback means a DNS-rebinding page (its name resolved to 127.0.0.1) and is refused too.
    if (!req.origin.empty() && !origin_matches_host(req.origin, req.host))
        return error_response(403, "forbidden_origin",
                              "cross-origin requests are not accepted (Origin " + req.origin + ")");
    if (config_.token.empty() && !is_loopback_host_header(req.host))
        return error_response(403, "forbidden_host",
                              "Host '" + req.host + "' is not a loopback name; set --token to serve other names");

    const Route route = match(req.path);
    const bool public_route = route == Route::page || route == Route::health;
    if (!config_.token.empty() && !public_route && !bearer_matches(req.authorization, config_.token)) {
        ApiResponse r = error_response(401, "unauthorized",
                                       req.authorization.empty() ? "this server needs 'Authorization: Bearer TOKEN'"
                                                                 : "the bearer token is not valid");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        return r;
    }
    return std::nullopt;
}

ApiResponse Api::route(const ApiRequest& req) {
    if (auto refused = admit(req)) return std::move(*refused);
    const Route route = match(req.path);
    if (route == Route::none)
        throw HttpError(404, "not_found",
                        "no route " + req.method + " " + req.path + " (see GET /health, /indexes, POST /search)");
    if (req.method != allowed_method(route)) {
        ApiResponse r =
            error_response(405, "method_not_allowed",
                           req.method + " is not allowed on " + req.path + "; use " + allowed_method(route));
        r.headers.emplace_back("Allow", allowed_method(route));
        return r;
    }
    switch (route) {
        case Route::page: {
            const PageAsset* asset = find_page_asset(req.path);
            if (!asset) throw HttpError(404, "not_found", "no page file " + req.path);
            ApiResponse r;
            r.content_type = std::string(asset->content_type);
            r.body = std::string(asset->bytes);
            for (const auto& [name, value] : page_headers()) r.headers.emplace_back(name, value);
            return r;
        }
        case Route::health:
            return health();
        case Route::indexes:
            return list_indexes_route();
        case Route::index_stats: {
            const std::string name = req.path.substr(std::string_view("/indexes/").size());
            return run_work([this, name] { return index_stats(name); });
        }
        case Route::search: {
            // Parse and validate here, on the HTTP thread: a bad request is answered even when the queue is full.
            auto params = std::make_shared<SearchParams>(parse_search(parse_json_object(req.body)));
            return run_work([this, params] {
                const auto index = open_index(params->index);
                const SearchResult result = index->search(params->query, params->options);
                return json_response(200, apps::result_json(params->query_id, params->query, result));
            });
        }
        case Route::embeddings: {
            auto params = std::make_shared<EmbeddingParams>(parse_embeddings(parse_json_object(req.body)));
            return run_work([this, params] { return embeddings_job(*params); });
        }
        case Route::none:
            break;
    }
    throw HttpError(404, "not_found", "no route " + req.path);
}

ApiResponse Api::run_work(std::function<ApiResponse()> job) {
    ApiResponse out;
    const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(config_.limits.timeout_s));
    switch (work_.run(std::move(job), timeout, out)) {
        case WorkQueue::Outcome::done:
            return out;
        case WorkQueue::Outcome::shed: {
            ApiResponse r = error_response(503, "overloaded",
                                           "the server is busy: " + std::to_string(work_.capacity()) +
                                               " requests in flight (--queue); retry shortly");
            r.headers.emplace_back("Retry-After", "1");
            return r;
        }
        case WorkQueue::Outcome::timed_out: {
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%g", config_.limits.timeout_s);
            return error_response(504, "timeout",
                                  std::string("the request took longer than ") + seconds + " s (--timeout-s)");
        }
    }
    return out;
}

std::shared_ptr<const Index> Api::open_index(const std::string& name) {
    try {
        (void)index_path_for_name(name);  // throws for a name that could leave the index folder
    } catch (const Error&) {
        throw HttpError(
            400, "invalid_index_name",
            "index name '" + name + "' is not allowed: use letters, digits, '.', '_' and '-' (not starting with '.')");
    }
    return catalog_.open(name);  // NotFoundError -> 404 in handle()
}

ApiResponse Api::health() {
    const WorkCounters work = work_.counters();
    nlohmann::json encoders = nlohmann::json::array();
    std::set<const Encoder*> seen;
    auto add_encoder = [&](const Encoder& encoder) {
        if (!seen.insert(&encoder).second) return;
        const EncoderCounters c = encoder.counters();
        encoders.push_back({{"model", encoder.info().name},
                            {"passes", c.passes},
                            {"requests", c.requests},
                            {"merged_requests", c.merged_requests},
                            {"texts", c.texts}});
    };
    nlohmann::json open = nlohmann::json::array();
    for (const std::string& name : catalog_.open_names()) {
        open.push_back(name);
        try {
            add_encoder(catalog_.open(name)->encoder());  // cached: no loading here
        } catch (const std::exception&) {
            // removed or rebuilt badly since it was opened: /health still answers
        }
    }
    {
        std::lock_guard lock(encoders_mutex_);
        for (const auto& [name, encoder] : embedding_encoders_) add_encoder(*encoder);
    }
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return json_response(200, {{"status", "ok"},
                               {"version", std::string(version())},
                               {"uptime_s", uptime},
                               {"auth", !config_.token.empty()},
                               {"requests", requests_.load()},
                               {"queue",
                                {{"capacity", work_.capacity()},
                                 {"workers", work_.workers()},
                                 {"in_flight", work.in_flight},
                                 {"running", work.running},
                                 {"completed", work.completed},
                                 {"shed", work.shed},
                                 {"timed_out", work.timed_out}}},
                               {"limits",
                                {{"max_body_bytes", config_.limits.max_body_bytes},
                                 {"max_header_bytes", config_.limits.max_header_bytes},
                                 {"read_timeout_s", config_.limits.read_timeout_s},
                                 {"max_connections", config_.limits.max_connections},
                                 {"max_client_connections", config_.limits.max_client_connections},
                                 {"timeout_s", config_.limits.timeout_s},
                                 {"max_top_k", ParamLimits::max_top_k},
                                 {"max_complexity", ParamLimits::max_complexity}}},
                               {"indexes_open", open},
                               {"encoders", encoders}});
}

ApiResponse Api::list_indexes_route() {
    nlohmann::json rows = nlohmann::json::array();
    for (const IndexSummary& row : list_indexes()) rows.push_back(apps::summary_json(row));
    return json_response(200, {{"indexes", rows}});
}

ApiResponse Api::index_stats(const std::string& name) {
    const auto index = open_index(name);
    nlohmann::json stats = apps::stats_json(index->stats());
    stats["name"] = name;
    return json_response(200, stats);
}

std::shared_ptr<Encoder> Api::embedding_encoder(const std::string& requested) {
    std::string name = requested.empty() ? config_.default_model : plain_model_name(requested);
    if (config_.model_override && name != config_.default_model)
        throw HttpError(
            404, "model_not_found",
            "this server embeds with '" + config_.default_model + "' only (--model), not '" + requested + "'");
    std::lock_guard lock(encoders_mutex_);
    if (auto it = embedding_encoders_.find(name); it != embedding_encoders_.end()) return it->second;
    if (!config_.model_override) {
        const auto installed = installed_models();
        if (std::find(installed.begin(), installed.end(), name) == installed.end()) {
            std::string list;
            for (const auto& m : installed) list += (list.empty() ? "" : ", ") + m;
            throw HttpError(404, "model_not_found",
                            "no model '" + name + "' installed (installed: " + (list.empty() ? "none" : list) + ")");
        }
    }
    // The cache folder by its full path: a bare name would also match a folder of that name in the server's
    // working directory. The catalog shares the model with the indexes built with it.
    auto encoder = catalog_.encoder(config_.model_override ? name : (model_cache_dir() / name).string());
    embedding_encoders_.emplace(name, encoder);
    return encoder;
}

ApiResponse Api::embeddings_job(const EmbeddingParams& params) {
    const auto encoder = embedding_encoder(params.model);
    const size_t dims = encoder->dims();
    if (params.dimensions && *params.dimensions != dims)
        throw HttpError(400, "invalid_field",
                        "'dimensions' must be " + std::to_string(dims) + " for model '" + encoder->info().name +
                            "' (it cannot be shortened)");
    const std::vector<float> vectors = encoder->encode(params.inputs, TextRole::plain);
    size_t tokens = 0;
    for (const auto& text : params.inputs)
        tokens += encoder->tokenizer().encode(text, encoder->info().max_seq_length).size();

    // Written by hand rather than through nlohmann: thousands of floats print shortest-form and twice as fast.
    std::string body = R"({"object":"list","data":[)";
    body.reserve(params.inputs.size() * dims * (params.base64 ? 6 : 12));
    for (size_t i = 0; i < params.inputs.size(); ++i) {
        body += i ? "," : "";
        body += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
        const float* row = vectors.data() + i * dims;
        if (params.base64) {
            body += '"' + base64_of(row, dims) + '"';
        } else {
            body += '[';
            for (size_t c = 0; c < dims; ++c) {
                if (c) body += ',';
                append_float(body, row[c]);
            }
            body += ']';
        }
        body += '}';
    }
    body += R"(],"model":)" + apps::dump(encoder->info().name) + R"(,"usage":{"prompt_tokens":)" +
            std::to_string(tokens) + R"(,"total_tokens":)" + std::to_string(tokens) + "}}\n";
    ApiResponse r;
    r.body = std::move(body);
    return r;
}

}  // namespace leann::server
