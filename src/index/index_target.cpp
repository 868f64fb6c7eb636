#include "index/index_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "leann/error.h"

namespace leann::index {

void create_private_directories(const std::filesystem::path& dir) {
    std::filesystem::path at;
    for (const auto& part : dir) {
        at /= part;
        if (::mkdir(at.c_str(), 0700) == 0 || errno == EEXIST) continue;
        const int error = errno;
        if (!std::filesystem::is_directory(at))
            throw Error(at.string() + ": cannot create the index folder: " + std::strerror(error));
    }
    if (!std::filesystem::is_directory(dir)) throw Error(dir.string() + ": not a folder (cannot hold an index)");
}

void check_writable(const std::filesystem::path& dir) {
    std::filesystem::path probe = dir / (".leann-write-test-" + std::to_string(::getpid()));
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
        throw Error(dir.string() + ": the index folder is not writable: " + std::strerror(errno));
    if (fd >= 0) {
        ::close(fd);
        ::unlink(probe.c_str());
    }
}

void check_replaceable(const std::filesystem::path& path, bool replace_foreign) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throw Error(path.string() + ": cannot look at the index path: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        throw Error(path.string() + ": not a regular file (a device, FIFO or socket); leann never replaces one");
    if (st.st_size == 0 || replace_foreign) return;
    char magic[8] = {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    const ssize_t got = fd >= 0 ? ::pread(fd, magic, sizeof magic, 0) : -1;
    if (fd >= 0) ::close(fd);
    if (got != ssize_t(sizeof magic) || std::memcmp(magic, "LEANNIDX", sizeof magic) != 0)
        throw Error(path.string() + " exists and is not a leann index; refusing to replace it (pass --force to "
                                    "replace it, or choose another --index path)");
}

}  // namespace leann::index
