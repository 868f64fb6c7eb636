// The daemon's wire: length-prefixed JSON over a Unix stream socket. A frame is a 4-byte little-endian length and
// that many bytes of UTF-8 JSON. Every read and write has a deadline and every frame a size limit, checked before
// anything is allocated; the peer's uid is checked on both sides (SO_PEERCRED). Nothing here trusts the peer.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace leann::daemon {

using Clock = std::chrono::steady_clock;

/// The one version of the message shapes (daemon_protocol.h); a daemon refuses requests of any other.
inline constexpr int protocol_version = 1;
/// Requests are a query, options and paths: 1 MiB is far more than one needs.
inline constexpr size_t max_request_bytes = size_t(1) << 20;
/// Responses carry up to 10,000 hits with their passages and metadata.
inline constexpr size_t max_response_bytes = size_t(64) << 20;
/// JSON nesting accepted in a frame (the deepest message nests 4 levels).
inline constexpr size_t max_frame_depth = 16;

/// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release();
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

/// A connected socket to `socket_path`, or nullopt (with `why` set) when nothing accepts there before `deadline`
/// or the listener is not this user's.
std::optional<Fd> connect_to(const std::filesystem::path& socket_path, Clock::time_point deadline, std::string& why);

/// The uid of the process at the other end of a connected Unix socket, or -1.
long peer_uid(int fd);

/// Writes one frame; false (with `why`) on a timeout, a closed peer or a frame over `limit`.
bool write_frame(int fd, const nlohmann::json& message, size_t limit, Clock::time_point deadline, std::string& why);
/// Reads one frame and parses it within json_limits (depth max_frame_depth); nullopt (with `why`) on a timeout,
/// end of stream, a declared length over `limit`, or bytes that are not a JSON object.
std::optional<nlohmann::json> read_frame(int fd, size_t limit, Clock::time_point deadline, std::string& why);

}  // namespace leann::daemon
