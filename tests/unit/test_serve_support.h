// Helpers for the `leann serve` tests: a temporary LEANN_HOME with a tiny-model index built from text files, and
// the real leann program started as a child process on a free port (it prints the port it bound).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "tiny_model.h"

extern char** environ;

namespace leann::testing {

/// A LEANN_HOME holding the tiny model and one index, `notes`, built from small text files whose chunks all
/// contain "fox" (so a page test can expect a highlighted term in any hit).
class ServeHome {
public:
    /// `extra_files`: more documents (path under the docs folder -> content) to index.
    explicit ServeHome(const std::vector<std::pair<std::string, std::string>>& extra_files = {}) {
        write_tiny_model(model_dir(), {});
        const auto docs = dir_.path() / "docs";
        std::filesystem::create_directories(docs / "notes");
        for (const auto& [path, content] : extra_files) std::ofstream(docs / path) << content;
        const char* words[] = {"the", "quick", "brown", "jumps", "over", "lazy", "dog", "search", "index", "graph"};
        for (int f = 0; f < 12; ++f) {
            std::ofstream out(docs / "notes" / ("fox" + std::to_string(f) + ".md"));
            out << "# Fox notes " << f << "\n\n";
            for (int p = 0; p < 6; ++p) {
                // A made-up word per paragraph ("note" + two letters) keeps every chunk's text distinct: equal texts
                // would tie, and ties may come back in either order.
                out << "note" << char('a' + f) << char('a' + p) << " ";
                for (int w = 0; w < 12; ++w) out << words[(f * 7 + p * 3 + w * w) % 10] << (w == 5 ? " fox " : " ");
                out << "\n\n";
            }
        }
        const auto r =
            cli("build notes --docs " + docs.string() + " --model " + model_dir().string() + " --threads 1 2>&1");
        if (r.status != 0) ADD_FAILURE() << "building the test index failed: " << r.out;
    }
    std::filesystem::path home() const { return dir_.path() / "home"; }
    std::filesystem::path model_dir() const { return dir_.path() / "tiny"; }
    /// `leann ARGS` (shell syntax) with LEANN_HOME set to home().
    CliRun cli(const std::string& args) const {
        return testing::run_shell("LEANN_HOME='" + home().string() + "' " + LEANN_CLI_PATH + " " + args);
    }
    const std::filesystem::path& root() const { return dir_.path(); }

private:
    TempDir dir_;
};

/// `leann serve ARGS --port 0` running with LEANN_HOME = home; stdout gives the port, stderr goes to a file.
class ServeProcess {
public:
    ServeProcess(const ServeHome& home, std::vector<std::string> args, std::vector<std::string> extra_env = {})
        : stderr_path_(home.root() / ("serve-" + std::to_string(++counter()) + ".err")) {
        std::vector<std::string> argv = {LEANN_CLI_PATH, "serve", "--port", "0", "--model", home.model_dir().string()};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<std::string> envs = {"LEANN_HOME=" + home.home().string()};
        for (char** e = environ; *e; ++e)
            if (std::string(*e).rfind("LEANN_HOME=", 0) != 0 && std::string(*e).rfind("LEANN_TOKEN=", 0) != 0)
                envs.push_back(*e);
        envs.insert(envs.end(), extra_env.begin(), extra_env.end());
        int out[2];
        if (::pipe(out) != 0) throw std::runtime_error("pipe");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        std::vector<char*> av, ev;
        for (auto& a : argv) av.push_back(a.data());
        for (auto& e : envs) ev.push_back(e.data());
        av.push_back(nullptr);
        ev.push_back(nullptr);
        const int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, av.data(), ev.data());
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        stdout_fd_ = out[0];
        if (rc != 0) {
            pid_ = -1;
            return;
        }
        // Wait (up to 30 s) for "listening on http://HOST:PORT/", or for the process to end.
        std::string text;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        static const std::regex listening(R"(listening on http://[^ ]*:(\d+)/)");
        std::smatch m;
        while (!std::regex_search(text, m, listening) && std::chrono::steady_clock::now() < deadline) {
            pollfd p{stdout_fd_, POLLIN, 0};
            if (::poll(&p, 1, 1000) <= 0) continue;
            char buf[512];
            const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
            if (n <= 0) break;  // closed: the program ended
            text.append(buf, size_t(n));
        }
        stdout_ = text;
        if (std::regex_search(text, m, listening)) port_ = std::stoi(m[1]);
    }
    ~ServeProcess() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (stdout_fd_ >= 0) ::close(stdout_fd_);
    }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    /// The port it listens on; 0 when it did not start (see stderr()).
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& stdout_text() const { return stdout_; }
    std::string stderr_text() const {
        std::ifstream in(stderr_path_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    /// Waits up to `timeout` for the process to end; its exit code, -SIGNAL when killed, nullopt when still running.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
            }
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            // The child gives no other signal of its end that we can wait on here than its stdout closing.
            pollfd p{stdout_fd_, POLLIN, 0};
            ::poll(&p, 1, 20);
            char buf[256];
            if (p.revents & (POLLIN | POLLHUP)) (void)!::read(stdout_fd_, buf, sizeof buf);
        }
    }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::filesystem::path stderr_path_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int port_ = 0;
    bool exited_ = false;
    std::string stdout_;
};

}  // namespace leann::testing
