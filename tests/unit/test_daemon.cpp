// The search daemon: started by the first `leann search`, serving the next ones with the results an in-process
// search gives; reopening a rebuilt index; falling back without a word when it is killed, stale, or its folder or
// socket cannot be trusted; status, stop and the idle timeout; the wire's bounds and the messages' round trips.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "cli_runner.h"
#include "daemon_paths.h"
#include "daemon_protocol.h"
#include "daemon_wire.h"
#include "test_serve_support.h"

namespace leann {
namespace {

using nlohmann::json;
using testing::CliRun;

std::string quote(const std::string& s) {
    return "'" + s + "'";
}

/// A ServeHome (tiny model, index `notes`) and a private runtime folder; commands run with the daemon allowed. The
/// daemon is stopped when the object goes.
class DaemonHome {
public:
    DaemonHome() {
        std::filesystem::create_directories(runtime_root());
        ::chmod(runtime_root().c_str(), 0700);
    }
    ~DaemonHome() { cli("daemon stop >/dev/null 2>&1"); }
    DaemonHome(const DaemonHome&) = delete;
    DaemonHome& operator=(const DaemonHome&) = delete;

    std::filesystem::path runtime_root() const { return home_.root() / "rt"; }
    std::filesystem::path runtime_dir() const { return runtime_root() / "leann"; }
    std::filesystem::path socket() const { return runtime_dir() / "daemon.sock"; }
    const testing::ServeHome& home() const { return home_; }

    std::string env() const {
        return "env -u LEANN_NO_DAEMON XDG_RUNTIME_DIR=" + quote(runtime_root().string()) +
               " LEANN_HOME=" + quote(home_.home().string()) + " LEANN_DAEMON_IDLE_TIMEOUT=120 ";
    }
    CliRun cli(const std::string& args) const { return testing::run_shell(env() + LEANN_CLI_PATH + " " + args); }
    /// `leann search notes QUERY --json` with the tiny model: the parsed JSON line.
    json search(const std::string& query, const std::string& extra = "") const {
        const CliRun r = cli("search notes " + quote(query) + " --top-k 5 --json --model " +
                             quote(home_.model_dir().string()) + " " + extra);
        EXPECT_EQ(r.status, 0) << r.out;
        return testing::last_json_line(r.out);
    }
    json status() const {
        const CliRun r = cli("daemon status --json");
        return testing::last_json_line(r.out);
    }

private:
    testing::ServeHome home_;
};

/// What must not differ between the daemon and an in-process search: everything but the timing and the cache
/// counters (the daemon keeps the embeddings it recomputed).
json comparable(json result) {
    result["stats"].erase("seconds");
    result["stats"].erase("recomputed");
    result["stats"].erase("cache_hits");
    result["stats"].erase("encoder_batches");
    return result;
}

/// Waits for a process that is not our child to end (pidfd; no sleeping). False when it did not within 60 s.
bool wait_for_exit(long pid) {
    const int fd = int(::syscall(SYS_pidfd_open, pid_t(pid), 0));
    if (fd < 0) return errno == ESRCH;
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, 60000);
    ::close(fd);
    return n == 1;
}

TEST(Daemon, FirstSearchStartsItAndTheNextAreServedByItWithTheSameResults) {
    DaemonHome d;
    EXPECT_FALSE(d.status().value("running", true)) << "no daemon before the first search";
    EXPECT_EQ(d.cli("daemon status >/dev/null").status, 3);

    const json first = d.search("quick fox");
    json status = d.status();
    ASSERT_TRUE(status.value("running", false)) << status.dump();
    EXPECT_EQ(status["requests_served"], 1) << "the first search started the daemon and was served by it";
    EXPECT_TRUE(status["current_build"].get<bool>());

    const json second = d.search("quick fox");
    status = d.status();
    EXPECT_EQ(status["requests_served"], 2);
    EXPECT_EQ(status["model_loads"], 1) << "the model was loaded once";
    EXPECT_EQ(status["index_opens"], 1) << "the index was opened once";
    ASSERT_EQ(status["indexes"].size(), 1u);
    // The recompute cache survived between the two commands: the same query recomputes nothing the second time.
    EXPECT_GT(first["stats"]["recomputed"].get<int>(), 0);
    EXPECT_EQ(second["stats"]["recomputed"], 0);
    EXPECT_EQ(second["stats"]["cache_hits"], first["stats"]["recomputed"]);

    // The same hits, scores and texts as an in-process search, in JSON and in text; nothing else printed.
    for (const std::string query : {"quick fox", "lazy dog search", "graph index"}) {
        const json served = d.search(query);
        const json local = d.search(query, "--no-daemon");
        EXPECT_EQ(comparable(served), comparable(local)) << query;
        const std::string text = "search notes " + quote(query) + " --top-k 3 --model " +
                                 quote(d.home().model_dir().string()) + " 2>/dev/null";
        EXPECT_EQ(d.cli(text).out, d.cli(text + " --no-daemon").out) << query;
        const CliRun json_out =
            d.cli("search notes " + quote(query) + " --json --model " + quote(d.home().model_dir().string()) + " 2>&1");
        EXPECT_EQ(std::count(json_out.out.begin(), json_out.out.end(), '\n'), 1)
            << "nothing on stderr: " << json_out.out;
    }
    EXPECT_EQ(d.status()["requests_served"], 2 + 3 * 3) << "--no-daemon searches did not reach it";

    // LEANN_NO_DAEMON does what --no-daemon does.
    const CliRun env_off =
        testing::run_shell("LEANN_NO_DAEMON=1 " + d.env().substr(d.env().find("XDG")) + LEANN_CLI_PATH +
                           " search notes fox --json --model " + quote(d.home().model_dir().string()));
    EXPECT_EQ(env_off.status, 0);
    EXPECT_EQ(d.status()["requests_served"], 11);

    // -v says who served.
    const CliRun verbose = d.cli("search notes fox -v --model " + quote(d.home().model_dir().string()) + " 2>&1");
    EXPECT_NE(verbose.out.find("served by the leann daemon"), std::string::npos) << verbose.out;
}

TEST(Daemon, ARebuiltIndexIsReopened) {
    DaemonHome d;
    const json before = d.search("zebra stripes");
    // New documents, then an update of the index: another generation of the file.
    std::ofstream(d.home().root() / "docs" / "notes" / "zebra.md")
        << "# Zebra\n\nzebra stripes zebra stripes black and white zebra herd\n";
    const CliRun rebuilt = d.cli("build notes --docs " + quote((d.home().root() / "docs").string()) + " --model " +
                                 quote(d.home().model_dir().string()) + " --threads 1 2>&1");
    ASSERT_EQ(rebuilt.status, 0) << rebuilt.out;
    const json after = d.search("zebra stripes");
    EXPECT_NE(comparable(after)["results"], comparable(before)["results"]) << "the new chunk is found";
    EXPECT_EQ(comparable(after), comparable(d.search("zebra stripes", "--no-daemon")));
    const json status = d.status();
    EXPECT_EQ(status["index_opens"], 2) << "the changed file was opened again";
    EXPECT_EQ(status["requests_served"], 2);
}

TEST(Daemon, AKilledDaemonMeansAFreshOneAndNoError) {
    DaemonHome d;
    const json expected = comparable(d.search("quick fox"));
    const long pid = d.status()["pid"].get<long>();
    ASSERT_EQ(::kill(pid_t(pid), SIGKILL), 0);
    ASSERT_TRUE(wait_for_exit(pid));
    ASSERT_TRUE(std::filesystem::exists(d.socket())) << "a killed daemon leaves its socket behind";

    const CliRun r =
        d.cli("search notes 'quick fox' --top-k 5 --json --model " + quote(d.home().model_dir().string()) + " 2>&1");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(comparable(testing::last_json_line(r.out)), expected);
    EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
    const json status = d.status();
    ASSERT_TRUE(status.value("running", false));
    EXPECT_NE(status["pid"].get<long>(), pid) << "the stale socket was replaced by a new daemon";
    EXPECT_EQ(status["requests_served"], 1);
}

TEST(Daemon, UntrustedFolderOrSocketIsRefusedAndTheSearchRunsInProcess) {
    DaemonHome d;
    const json expected = comparable(d.search("quick fox", "--no-daemon"));
    auto search_verbose = [&] {
        return d.cli("search notes 'quick fox' --top-k 5 --json -v --model " + quote(d.home().model_dir().string()) +
                     " 2>&1");
    };
    // A folder others may enter.
    std::filesystem::create_directories(d.runtime_dir());
    ASSERT_EQ(::chmod(d.runtime_dir().c_str(), 0755), 0);
    CliRun r = search_verbose();
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("mode 0755"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(d.socket())) << "no daemon started in an untrusted folder";
    EXPECT_EQ(comparable(testing::last_json_line(r.out)), expected);
    ASSERT_EQ(::chmod(d.runtime_dir().c_str(), 0700), 0);

    // Something that is not a socket where the socket should be.
    std::ofstream(d.socket()) << "not a socket";
    r = search_verbose();
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("not a socket"), std::string::npos) << r.out;
    EXPECT_EQ(comparable(testing::last_json_line(r.out)), expected);
    std::filesystem::remove(d.socket());

    // A socket others may connect to, and one owned by another user: never connected to.
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, d.socket().c_str());
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    ASSERT_EQ(::chmod(d.socket().c_str(), 0666), 0);
    r = search_verbose();
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("mode 0666"), std::string::npos) << r.out;
    EXPECT_EQ(comparable(testing::last_json_line(r.out)), expected);
    if (::geteuid() == 0) {
        ASSERT_EQ(::chmod(d.socket().c_str(), 0600), 0);
        ASSERT_EQ(::chown(d.socket().c_str(), 65534, 65534), 0);
        r = search_verbose();
        EXPECT_EQ(r.status, 0);
        EXPECT_NE(r.out.find("owned by uid 65534"), std::string::npos) << r.out;
        EXPECT_EQ(comparable(testing::last_json_line(r.out)), expected);
    } else {
        std::printf("[  SKIPPED ] the other-owner case needs root to chown a socket\n");
    }
    // Nobody was ever accepted on it: a pending connection would be readable.
    pollfd p{listener, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0) << "the command connected to an untrusted socket";
    ::close(listener);
    std::filesystem::remove(d.socket());
}

TEST(Daemon, StaleOrBrokenDaemonMeansInProcessAndAStaleOneIsAskedToStop) {
    DaemonHome d;
    const json expected = comparable(d.search("quick fox", "--no-daemon"));
    std::filesystem::create_directories(d.runtime_dir());
    ::chmod(d.runtime_dir().c_str(), 0700);
    // A stand-in daemon: answers each request with the reply given, and records the ops it was sent.
    for (const json& reply : {json{{"ok", false}, {"refused", "stale"}, {"message", "another build"}},
                              json{{"ok", true}, {"result", {{"hits", "not hits"}}}},
                              json{{"ok", true}, {"result", {{"hits", json::array()}, {"stats", json::object()}}}}}) {
        const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, d.socket().c_str());
        ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        ::chmod(d.socket().c_str(), 0600);
        ASSERT_EQ(::listen(listener, 4), 0);
        std::vector<std::string> ops;
        const int connections = reply.value("refused", "") == "stale" ? 2 : 1;  // a stop follows a stale reply
        std::thread fake([&] {
            for (int i = 0; i < connections; ++i) {
                pollfd p{listener, POLLIN, 0};
                if (::poll(&p, 1, 60000) != 1) return;
                daemon::Fd client(::accept(listener, nullptr, nullptr));
                std::string why;
                const auto request = daemon::read_frame(client.get(), daemon::max_request_bytes,
                                                        daemon::Clock::now() + std::chrono::seconds(10), why);
                if (!request) return;
                ops.push_back(request->value("op", ""));
                daemon::write_frame(client.get(), ops.back() == "stop" ? json{{"ok", true}, {"pid", 1}} : reply,
                                    daemon::max_response_bytes, daemon::Clock::now() + std::chrono::seconds(10), why);
            }
        });
        const CliRun r = d.cli("search notes 'quick fox' --top-k 5 --json --model " +
                               quote(d.home().model_dir().string()) + " 2>&1");
        fake.join();
        ::close(listener);
        std::filesystem::remove(d.socket());
        EXPECT_EQ(r.status, 0) << reply.dump();
        EXPECT_EQ(comparable(testing::last_json_line(r.out)), expected) << r.out;
        EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
        ASSERT_FALSE(ops.empty());
        EXPECT_EQ(ops[0], "search");
        if (reply.value("refused", "") == "stale")
            EXPECT_EQ(ops, (std::vector<std::string>{"search", "stop"})) << "a stale daemon is asked to stop";
        // (any other reply: the one search; the fake accepts nothing more, so a second connection would fail the
        // comparison above with an error or a hang, never pass silently)
    }
}

TEST(Daemon, StopEndsItAndIdleTimeoutEndsIt) {
    DaemonHome d;
    d.search("fox");
    const long pid = d.status()["pid"].get<long>();
    const CliRun stopped = d.cli("daemon stop");
    EXPECT_EQ(stopped.status, 0);
    EXPECT_NE(stopped.out.find("stopped (pid " + std::to_string(pid) + ")"), std::string::npos) << stopped.out;
    EXPECT_FALSE(std::filesystem::exists(d.socket())) << "stop returns once the daemon is gone";
    EXPECT_FALSE(d.status().value("running", true));
    EXPECT_NE(d.cli("daemon stop").out.find("not running"), std::string::npos);

    // The idle timeout, in the foreground: the command returns when the daemon exits on its own.
    const CliRun idle = d.cli("daemon run --idle-timeout 0.2 2>&1");
    EXPECT_EQ(idle.status, 0) << idle.out;
    EXPECT_NE(idle.out.find("exiting: idle"), std::string::npos) << idle.out;
    EXPECT_FALSE(std::filesystem::exists(d.socket()));

    // And one that `leann search` started, with LEANN_DAEMON_IDLE_TIMEOUT.
    const CliRun started =
        testing::run_shell(d.env() + "LEANN_DAEMON_IDLE_TIMEOUT=0.3 " + LEANN_CLI_PATH + " search notes fox --model " +
                           quote(d.home().model_dir().string()) + " >/dev/null 2>&1");
    EXPECT_EQ(started.status, 0);
    const json status = d.status();
    ASSERT_TRUE(status.value("running", false)) << status.dump();
    EXPECT_DOUBLE_EQ(status["idle_timeout_s"].get<double>(), 0.3);
    EXPECT_TRUE(wait_for_exit(status["pid"].get<long>()));
    EXPECT_FALSE(std::filesystem::exists(d.socket()));
    EXPECT_NE(d.cli("daemon run --idle-timeout 0 2>&1").out.find("--idle-timeout"), std::string::npos);
}

TEST(DaemonProtocol, EveryOptionAndResultFieldRoundTrips) {
    SearchOptions o;
    o.mode = SearchMode::hybrid;
    o.fusion = HybridFusion::convex;
    o.vector_weight = 0.3;
    o.rrf_k = 7;
    o.keyword_candidates = 33;
    o.top_k = 9;
    o.complexity = 123;
    o.recompute_share = 0.1;
    o.rerank = 17;
    o.batch_size = 5;
    o.recompute = false;
    o.filter.paths = {"src/**/*.py"};
    o.filter.exclude_paths = {"*.md"};
    o.filter.types = {"code"};
    o.filter.languages = {"python"};
    o.filter.modified_after = -5;
    o.filter.modified_before = 1700000000;
    o.filter.where = R"({"year":{"$gte":2000}})";
    const SearchOptions back = daemon::search_options_from_json(json::parse(daemon::search_options_json(o).dump()));
    EXPECT_EQ(daemon::search_options_json(back), daemon::search_options_json(o));
    EXPECT_EQ(back.vector_weight, 0.3);
    EXPECT_EQ(back.recompute_share, 0.1);
    EXPECT_EQ(back.filter.modified_after, -5);

    json bad = daemon::search_options_json(o);
    bad["future_knob"] = 1;
    EXPECT_THROW(daemon::search_options_from_json(bad), Error) << "unknown fields are refused";
    for (const char* field : {"top_k", "mode", "recompute", "filter"}) {
        json wrong = daemon::search_options_json(o);
        wrong[field] = "x";
        EXPECT_THROW(daemon::search_options_from_json(wrong), Error) << field;
    }
    json huge = daemon::search_options_json(o);
    huge["top_k"] = 1u << 30;
    EXPECT_THROW(daemon::search_options_from_json(huge), Error);

    SearchResult r;
    r.hits.push_back({42, "doc-1", 0.123456789f, "text with \"quotes\" and é", R"({"a":1})"});
    r.hits.push_back({7, "doc-2", -1e-7f, "", "{}"});
    r.stats = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    r.seconds = 0.25;
    r.notes = {"a note"};
    const SearchResult rb = daemon::search_result_from_json(json::parse(daemon::search_result_json(r).dump()), 9);
    ASSERT_EQ(rb.hits.size(), 2u);
    EXPECT_EQ(rb.hits[0].score, r.hits[0].score) << "scores travel exactly";
    EXPECT_EQ(rb.hits[1].score, r.hits[1].score);
    EXPECT_EQ(rb.hits[0].text, r.hits[0].text);
    EXPECT_EQ(rb.hits[0].node, 42u);
    EXPECT_EQ(daemon::search_result_json(rb), daemon::search_result_json(r));
    EXPECT_THROW(daemon::search_result_from_json(daemon::search_result_json(r), 1), Error) << "more hits than asked";
}

TEST(DaemonWire, FramesAreBoundedCheckedAndTimed) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    daemon::Fd a(sv[0]), b(sv[1]);
    const auto soon = [] { return daemon::Clock::now() + std::chrono::milliseconds(200); };
    std::string why;
    ASSERT_TRUE(daemon::write_frame(a.get(), {{"op", "status"}}, 1024, soon(), why)) << why;
    const auto got = daemon::read_frame(b.get(), 1024, soon(), why);
    ASSERT_TRUE(got.has_value()) << why;
    EXPECT_EQ((*got)["op"], "status");

    // A declared length over the limit is refused before anything is read or allocated.
    const unsigned char huge[4] = {0xff, 0xff, 0xff, 0x7f};
    ASSERT_EQ(::write(a.get(), huge, 4), 4);
    EXPECT_FALSE(daemon::read_frame(b.get(), 1024, soon(), why).has_value());
    EXPECT_NE(why.find("over the limit"), std::string::npos) << why;

    // Deep nesting, and JSON that is not an object.
    auto raw_frame = [&](const std::string& body) {
        const uint32_t n = uint32_t(body.size());
        const char header[4] = {char(n), char(n >> 8), char(n >> 16), char(n >> 24)};
        ASSERT_EQ(::write(a.get(), header, 4), 4);
        ASSERT_EQ(::write(a.get(), body.data(), body.size()), ssize_t(body.size()));
    };
    raw_frame(std::string(100, '[') + std::string(100, ']'));
    EXPECT_FALSE(daemon::read_frame(b.get(), 1024, soon(), why).has_value());
    EXPECT_NE(why.find("nests deeper"), std::string::npos) << why;
    raw_frame("[1,2]");
    EXPECT_FALSE(daemon::read_frame(b.get(), 1024, soon(), why).has_value());
    raw_frame("{\"a\": \"\xff\"}");
    EXPECT_FALSE(daemon::read_frame(b.get(), 1024, soon(), why).has_value()) << "not UTF-8";

    // A frame that never completes ends at the deadline.
    const char partial[6] = {10, 0, 0, 0, '{', '"'};
    ASSERT_EQ(::write(a.get(), partial, 6), 6);
    EXPECT_FALSE(daemon::read_frame(b.get(), 1024, soon(), why).has_value());
    EXPECT_EQ(why, "timed out");

    // Text that is not UTF-8 is never sent mangled: the writer refuses it.
    EXPECT_FALSE(daemon::write_frame(a.get(), {{"text", std::string("\xff\xfe")}}, 1024, soon(), why));
    // And a peer that closed is end of stream, not a hang.
    a = daemon::Fd();
    EXPECT_FALSE(daemon::read_frame(b.get(), 1024, soon(), why).has_value());
    EXPECT_EQ(why, "the connection closed");
}

}  // namespace
}  // namespace leann
