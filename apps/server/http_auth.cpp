#include "http_auth.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "leann/error.h"

namespace leann::server {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

// "name:port" -> "name", "[::1]:port" -> "::1".
std::string_view host_part(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(1, close - 1);
    }
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(':') == colon)
        return host.substr(0, colon);
    return host;
}

}  // namespace

bool is_loopback_address(std::string_view host) {
    const std::string h = lower(host_part(host));
    if (h == "localhost") return true;
    in_addr v4{};
    if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
    return false;
}

void check_token(std::string_view token) {
    if (token.empty()) throw Error("the token is empty");
    for (unsigned char c : token)
        if (c <= 0x20 || c >= 0x7f)
            throw Error("the token must be printable ASCII without spaces (it travels in an Authorization header)");
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() < scheme.size() || lower(authorization.substr(0, scheme.size())) != scheme) return false;
    std::string_view given = authorization.substr(scheme.size());
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
    // Every byte of the expected token is compared whatever the given one holds; the length difference is folded
    // into the same accumulator instead of returning early.
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < token.size(); ++i) {
        const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(token[i]));
    }
    return diff == 0;
}

bool is_loopback_host_header(std::string_view host) {
    return !host.empty() && is_loopback_address(host);
}

bool origin_matches_host(std::string_view origin, std::string_view host) {
    const auto scheme_end = origin.find("://");
    if (scheme_end == std::string_view::npos) return false;
    return lower(origin.substr(scheme_end + 3)) == lower(host);
}

}  // namespace leann::server
