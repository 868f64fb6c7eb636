// IndexWriter: one writer per index (an OS lock), updates appended as generations (leann/writer.h).
#include <leann/writer.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"

namespace leann::python {

namespace {

/// The writer with an explicit close(): Python code releases the lock when it is done, not when the garbage
/// collector gets to it.
/// Calls from several Python threads are serialised (and close() waits for a running update).
struct Writer {
    explicit Writer(std::unique_ptr<IndexWriter> w) : writer(std::move(w)) {}

    /// Runs fn(writer) without the GIL, holding the writer's mutex.
    template <typename Fn>
    auto run(Fn&& fn) {
        nb::gil_scoped_release unlocked;
        std::lock_guard lock(mutex);
        if (!writer) throw Error("the index writer is closed");
        return fn(*writer);
    }
    void close() {
        nb::gil_scoped_release unlocked;
        std::lock_guard lock(mutex);
        writer.reset();
    }
    bool closed() {
        std::lock_guard lock(mutex);
        return !writer;
    }

    std::mutex mutex;
    std::unique_ptr<IndexWriter> writer;
};

}  // namespace

void bind_writer(nb::module_& m) {
    nb::class_<WriterOptions>(m, "WriterOptions")
        .def(nb::init<>())
        .def_rw("build", &WriterOptions::build, "Used by full builds; graph degrees and threads also by updates.")
        .def_rw("wait", &WriterOptions::wait, "Wait for another writer's lock instead of raising IndexLockedError.")
        .def_rw("auto_compact", &WriterOptions::auto_compact)
        .def_rw("compact_deleted", &WriterOptions::compact_deleted)
        .def_rw("compact_garbage", &WriterOptions::compact_garbage);

    nb::class_<UpdateStats>(m, "UpdateStats", "What an update did.")
        .def_ro("up_to_date", &UpdateStats::up_to_date)
        .def_ro("rebuilt", &UpdateStats::rebuilt)
        .def_ro("rebuild_reason", &UpdateStats::rebuild_reason)
        .def_ro("compacted", &UpdateStats::compacted)
        .def_ro("chunks_added", &UpdateStats::chunks_added)
        .def_ro("chunks_changed", &UpdateStats::chunks_changed)
        .def_ro("chunks_removed", &UpdateStats::chunks_removed)
        .def_ro("chunks_kept", &UpdateStats::chunks_kept)
        .def_ro("embedded", &UpdateStats::embedded)
        .def_ro("live_chunks", &UpdateStats::live_chunks)
        .def_ro("bytes_written", &UpdateStats::bytes_written)
        .def_ro("index_bytes", &UpdateStats::index_bytes)
        .def_ro("generation", &UpdateStats::generation)
        .def_ro("seconds", &UpdateStats::seconds)
        .def_ro("stage_seconds", &UpdateStats::stage_seconds);

    nb::class_<Writer>(m, "IndexWriter",
                       "Builds and updates one index. Holds the index's writer lock until close() (also a context "
                       "manager); readers need no lock and see each update when they reopen the index. Every call "
                       "is durable when it returns and runs without the GIL.")
        .def(
            "__init__",
            [](Writer* self, const std::filesystem::path& path, std::shared_ptr<Encoder> encoder,
               const WriterOptions& options) {
                std::unique_ptr<IndexWriter> writer;
                {
                    nb::gil_scoped_release unlocked;  // may wait for another writer's lock
                    writer = std::make_unique<IndexWriter>(path, std::move(encoder), options);
                }
                new (self) Writer(std::move(writer));
            },
            nb::arg("path"), nb::arg("encoder"), nb::arg("options") = WriterOptions(),
            "Locks the index at path for writing (creating its folder); raises IndexLockedError when another "
            "writer holds it and options.wait is False.")
        .def(
            "upsert",
            [](Writer& self, const std::vector<Document>& documents) {
                return self.run([&](IndexWriter& writer) { return writer.upsert(documents); });
            },
            nb::arg("documents"),
            "Adds new ids, re-embeds ids whose text changed, keeps the vector of ids whose metadata alone changed. "
            "Creates the index when it does not exist.")
        .def(
            "remove",
            [](Writer& self, const std::vector<std::string>& ids) {
                return self.run([&](IndexWriter& writer) { return writer.remove(ids); });
            },
            nb::arg("ids"), "Removes records by id (unknown ids are ignored).")
        .def(
            "compact",
            [](Writer& self) {
                return self.run([](IndexWriter& writer) { return writer.compact(); });
            },
            "Rewrites the file with live nodes only.")
        .def_prop_ro("path", [](Writer& self) { return self.run([](IndexWriter& w) { return w.path(); }); })
        .def_prop_ro("closed", &Writer::closed)
        .def("close", &Writer::close, "Releases the writer lock (idempotent).")
        .def("__enter__", [](nb::handle self) { return self; })
        .def("__exit__", [](Writer& self, nb::args) { self.close(); });
}

}  // namespace leann::python
