// Every `leann` program the tests start searches in-process unless a test opts in: a daemon started by one test
// would outlive it and serve the next one. test_daemon.cpp runs its commands with `env -u LEANN_NO_DAEMON` and a
// private runtime folder, and stops its daemons.
#include <cstdlib>

namespace {

const bool daemons_off_for_tests = [] {
    ::setenv("LEANN_NO_DAEMON", "1", 1);
    return true;
}();

}  // namespace
