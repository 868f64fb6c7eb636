#include "daemon_wire.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/json_limits.h"

namespace leann::daemon {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

namespace {

int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : int(std::min<long long>(left, 1 << 30));
}

// Waits until `fd` is ready for `events`; false at the deadline or on an error.
bool wait_for(int fd, short events, Clock::time_point deadline, std::string& why) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0) {
            why = "timed out";
            return false;
        }
        if (errno != EINTR) {
            why = std::string("poll: ") + std::strerror(errno);
            return false;
        }
    }
}

bool write_all(int fd, const char* data, size_t size, Clock::time_point deadline, std::string& why) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data += n;
            size -= size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd, POLLOUT, deadline, why)) return false;
            continue;
        }
        why = std::string("send: ") + std::strerror(errno);
        return false;
    }
    return true;
}

bool read_all(int fd, char* data, size_t size, Clock::time_point deadline, std::string& why) {
    while (size > 0) {
        const ssize_t n = ::recv(fd, data, size, MSG_DONTWAIT);
        if (n > 0) {
            data += n;
            size -= size_t(n);
            continue;
        }
        if (n == 0) {
            why = "the connection closed";
            return false;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(fd, POLLIN, deadline, why)) return false;
            continue;
        }
        why = std::string("recv: ") + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

long peer_uid(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return -1;
    return long(cred.uid);
}

std::optional<Fd> connect_to(const std::filesystem::path& socket_path, Clock::time_point deadline, std::string& why) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = socket_path.string();
    if (path.size() >= sizeof addr.sun_path) {
        why = "the socket path is too long";
        return std::nullopt;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        why = std::string("socket: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EAGAIN && errno != EINPROGRESS) {
            why = std::string("connect: ") + std::strerror(errno);
            return std::nullopt;
        }
        // A full backlog: wait for the daemon to accept, up to the deadline.
        if (!wait_for(fd.get(), POLLOUT, deadline, why)) return std::nullopt;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            why = std::string("connect: ") + std::strerror(err != 0 ? err : errno);
            return std::nullopt;
        }
    }
    if (const long uid = peer_uid(fd.get()); uid != long(::getuid())) {
        why = "the process listening there runs as uid " + std::to_string(uid) + ", not as this user";
        return std::nullopt;
    }
    return fd;
}

bool write_frame(int fd, const nlohmann::json& message, size_t limit, Clock::time_point deadline, std::string& why) {
    std::string body;
    try {
        body = message.dump();  // strict UTF-8: text that is not UTF-8 fails here, never reaches the peer mangled
    } catch (const std::exception& e) {
        why = std::string("cannot encode the message: ") + e.what();
        return false;
    }
    if (body.size() > limit) {
        why = "the message is " + std::to_string(body.size()) + " bytes, over the limit of " + std::to_string(limit);
        return false;
    }
    const uint32_t n = uint32_t(body.size());
    const char header[4] = {char(n & 0xff), char((n >> 8) & 0xff), char((n >> 16) & 0xff), char((n >> 24) & 0xff)};
    return write_all(fd, header, 4, deadline, why) && write_all(fd, body.data(), body.size(), deadline, why);
}

std::optional<nlohmann::json> read_frame(int fd, size_t limit, Clock::time_point deadline, std::string& why) {
    unsigned char header[4];
    if (!read_all(fd, reinterpret_cast<char*>(header), 4, deadline, why)) return std::nullopt;
    const uint32_t n =
        uint32_t(header[0]) | uint32_t(header[1]) << 8 | uint32_t(header[2]) << 16 | uint32_t(header[3]) << 24;
    if (n > limit) {
        why = "a frame of " + std::to_string(n) + " bytes is over the limit of " + std::to_string(limit);
        return std::nullopt;
    }
    std::string body(n, '\0');
    if (!read_all(fd, body.data(), n, deadline, why)) return std::nullopt;
    nlohmann::json message = json_limits::parse_or_discarded(body, &why, max_frame_depth);
    if (message.is_discarded()) return std::nullopt;
    if (!message.is_object()) {
        why = "a frame is not a JSON object";
        return std::nullopt;
    }
    return message;
}

}  // namespace leann::daemon
