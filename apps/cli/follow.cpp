#include "follow.h"

#include "interrupt.h"
#include "leann/model.h"

namespace leann::cli {

void follow_index(const std::filesystem::path& path, std::shared_ptr<Encoder> encoder, const FollowOptions& options) {
    SyncRecipe recipe = [&] {
        const Index index = Index::open(path);
        return recorded_sync(index);
    }();
    // Roots are used as the build gave them, so chunk ids stay the same: relative ones need the build's folder.
    std::error_code ec;
    const auto here = std::filesystem::current_path(ec);
    for (const auto& root : recipe.roots)
        if (root.is_relative() && std::filesystem::weakly_canonical(recipe.cwd, ec) != std::filesystem::weakly_canonical(here, ec))
            throw Error(path.string() + " was built from relative paths in " + recipe.cwd.string() +
                        "; follow it from there (cd " + recipe.cwd.string() + ")");
    recipe.sync.files.skip_folders = {leann_home()};
    recipe.build.threads = options.threads;
    WatchOptions watch = options.watch;
    watch.include_hidden = recipe.sync.files.include_hidden;
    watch.skip_folders = {leann_home()};

    auto update = [&] {
        WriterOptions writer_options;
        writer_options.build = recipe.build;
        writer_options.wait = true;  // a `leann build` of the same index runs first, then this
        IndexWriter writer(path, encoder, writer_options);
        writer.set_progress([&](std::string_view, size_t, size_t) {
            if (options.check) options.check();
        });
        const UpdateStats u = writer.sync(recipe.roots, recipe.sync);
        if (options.on_update) options.on_update(u);
    };
    Watcher watcher(recipe.roots, watch);
    if (options.on_message)
        options.on_message("following " + std::to_string(recipe.roots.size()) +
                           (recipe.roots.size() == 1 ? " path" : " paths") + " for " + path.string() + " (" +
                           watcher.describe() + ")");
    update();  // catch up with what changed while nobody watched
    while (!options.stop || !options.stop()) {
        if (!watcher.wait(std::chrono::milliseconds(200))) continue;
        try {
            update();
        } catch (const Interrupted&) {
            throw;
        } catch (const IndexLockedError&) {
            throw;
        } catch (const Error& e) {
            // One bad update (a tree that emptied, a file that broke mid-read) is reported; following goes on.
            if (options.on_message) options.on_message(path.string() + ": update failed: " + e.what());
        }
    }
}

}  // namespace leann::cli
