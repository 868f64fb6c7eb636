// Who may talk to the server. By default it listens on loopback only and needs no token; any other address
// needs a bearer token, and then every request but GET /health and the page must carry it. Two browser attacks
// are closed too: a page on another site making the user's browser call us (Origin must match Host) and DNS
// rebinding (without a token, the Host header must name a loopback host).
#pragma once

#include <string>
#include <string_view>

namespace leann::server {

/// True for addresses only this machine can reach: 127.0.0.0/8, ::1, "localhost".
bool is_loopback_address(std::string_view host);

/// Throws leann::Error when `token` cannot be sent in an Authorization header (empty, spaces, control bytes).
void check_token(std::string_view token);

/// Whether `authorization` is "Bearer <token>" (scheme case-insensitive). Takes the same time wherever the first
/// difference is, so the token cannot be guessed byte by byte from response times.
bool bearer_matches(std::string_view authorization, std::string_view token);

/// Whether a Host header ("name", "name:port", "[v6]:port") names a loopback host.
bool is_loopback_host_header(std::string_view host);

/// Whether an Origin header ("http://name:port") is the server itself (same host and port as the Host header).
bool origin_matches_host(std::string_view origin, std::string_view host);

}  // namespace leann::server
