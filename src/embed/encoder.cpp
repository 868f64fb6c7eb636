#include "leann/encoder.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <future>
#include <mutex>
#include <optional>

#include "embed/bert_model.h"
#include "embed/blas.h"
#include "embed/lowp_linear.h"
#include "embed/model_files.h"
#include "embed/tensor_file.h"
#include "leann/error.h"
#include "leann/log.h"
#include "util/thread_pool.h"

namespace leann {
namespace {

// One encode() or encode_tokens() call waiting for its rows. It lives on the caller's stack; the leader that runs
// it only touches it while the caller waits (done == false), and the caller returns only once done is set.
struct EncodeRequest {
    std::span<const std::string_view> texts;  // to tokenise, with `prompt` in front
    const std::string* prompt = nullptr;
    std::span<const std::vector<int32_t>> sequences;  // or ready token ids (encode_tokens)
    std::span<float> out;
    bool done = false;
    std::exception_ptr error;

    size_t rows() const { return texts.empty() ? sequences.size() : texts.size(); }
};

const std::string no_prompt;

}  // namespace

const char* precision_name(Precision precision) {
    switch (precision) {
        case Precision::automatic: return "auto";
        case Precision::fp32: return "fp32";
        case Precision::bf16: return "bf16";
        case Precision::int8: return "int8";
    }
    return "?";
}

Precision parse_precision(std::string_view name) {
    for (Precision p : {Precision::automatic, Precision::fp32, Precision::bf16, Precision::int8})
        if (name == precision_name(p)) return p;
    throw Error("unknown precision \"" + std::string(name) + "\" (expected auto, fp32, bf16 or int8)");
}

bool precision_supported(Precision precision) {
    return lowp::supported(precision);
}

Precision default_precision() {
    // Chosen by measurement (bench/README.md, "Encoder precision"): bf16 where the CPU has native bf16 dot
    // products keeps nDCG@10 within 0.0001 of fp32 and builds 1.5-1.7x faster; int8 is faster still but moves
    // 4% of the exact top-3, so it is opt-in; elsewhere fp32, the reference.
    return lowp::supported(Precision::bf16) ? Precision::bf16 : Precision::fp32;
}

std::string precision_backend() {
    return lowp::describe();
}

struct Encoder::Impl {
    Impl(ModelInfo model_info, Tokenizer tok, std::unique_ptr<ThreadPool> threads, std::unique_ptr<BertModel> bert,
         size_t batch, Precision p)
        : info(std::move(model_info)),
          tokenizer(std::move(tok)),
          pool_owner(std::move(threads)),
          pool(*pool_owner),
          model(std::move(bert)),
          batch_size(batch),
          precision(p) {}

    ModelInfo info;
    Tokenizer tokenizer;
    std::unique_ptr<ThreadPool> pool_owner;  // the model runs on it: made first, so that it can pack at load
    ThreadPool& pool;
    std::unique_ptr<BertModel> model;
    size_t batch_size;
    Precision precision;

    // Cross-call batching. The model and the pool take one pass at a time; callers that arrive while a pass runs
    // queue here, and when it ends one of them (the leader) runs every queued request as one batch. Concurrent
    // searches each need a handful of embeddings at a time: merged, they share forward passes (fewer, larger
    // GEMMs and one pool dispatch) instead of waiting in line for a lock.
    std::mutex queue_mutex;
    std::condition_variable pass_done;
    std::vector<EncodeRequest*> queued;
    bool running = false;
    EncoderCounters counters;  // guarded by queue_mutex

    void submit(EncodeRequest& request);
    void run_batch(std::span<EncodeRequest* const> batch);
    void forward_chunks(std::span<const std::vector<int32_t>> sequences, std::span<float> out);
};

void Encoder::Impl::submit(EncodeRequest& request) {
    std::unique_lock lock(queue_mutex);
    queued.push_back(&request);
    while (!request.done) {
        if (running) {
            pass_done.wait(lock);
            continue;
        }
        // Nobody is running a pass: this caller leads. It takes the oldest queued request (its own or another's:
        // first come, first served), then the next ones while they fit in the room left in the last forward pass
        // of batch_size texts. Small calls (one query each) thus share a pass; a large call runs alone, because
        // merging it would not make the GEMMs faster but would make every caller in the batch wait for all of it.
        running = true;
        std::vector<EncodeRequest*> batch;
        size_t rows = 0;
        size_t taken = 0;
        for (; taken < queued.size(); ++taken) {
            const size_t room = (rows + batch_size - 1) / batch_size * batch_size - rows;
            if (taken > 0 && queued[taken]->rows() > room) break;
            rows += queued[taken]->rows();
            batch.push_back(queued[taken]);
        }
        queued.erase(queued.begin(), queued.begin() + static_cast<std::ptrdiff_t>(taken));
        ++counters.passes;
        counters.requests += batch.size();
        if (batch.size() > 1) counters.merged_requests += batch.size();
        for (const EncodeRequest* r : batch) counters.texts += r->rows();
        lock.unlock();
        try {
            run_batch(batch);
        } catch (...) {
            // run_batch reports per-request failures itself; this is a failure of the whole pass.
            for (EncodeRequest* r : batch)
                if (!r->error) r->error = std::current_exception();
        }
        lock.lock();
        for (EncodeRequest* r : batch) r->done = true;
        running = false;
        pass_done.notify_all();
    }
    lock.unlock();
    if (request.error) std::rethrow_exception(request.error);
}

void Encoder::Impl::forward_chunks(std::span<const std::vector<int32_t>> sequences, std::span<float> out) {
    const size_t dims = info.hidden_size;
    // A pass holds up to batch_size texts' worth of tokens at the model's full length: batch_size full chunks, or
    // dozens of short texts (a build of ~20-token glosses ran 7% faster with twice the texts per pass: larger
    // GEMMs, fewer hand-offs), never more activation memory than batch_size full-length texts.
    const size_t budget = batch_size * std::max<size_t>(1, info.max_seq_length);
    for (size_t begin = 0, end = 0; begin < sequences.size(); begin = end) {
        size_t tokens = 0;
        for (end = begin; end < sequences.size() && (end == begin || tokens + sequences[end].size() <= budget); ++end)
            tokens += sequences[end].size();
        model->forward(sequences.subspan(begin, end - begin), out.subspan(begin * dims, (end - begin) * dims));
    }
}

void Encoder::Impl::run_batch(std::span<EncodeRequest* const> batch) {
    // Tokenise every text of every request in one parallel pass; each request keeps its own prompt prefix.
    struct TextRef {
        EncodeRequest* request;
        size_t index;
    };
    std::vector<TextRef> refs;
    for (EncodeRequest* r : batch)
        for (size_t i = 0; i < r->texts.size(); ++i) refs.push_back({r, i});
    std::vector<std::vector<int32_t>> tokenized(refs.size());
    std::vector<std::exception_ptr> token_errors(refs.size());
    const size_t max_tokens = info.max_seq_length;
    if (!refs.empty()) {
        pool.parallel_for(refs.size(), std::min(refs.size(), pool.size()), [&](size_t, size_t b, size_t e) {
            for (size_t i = b; i < e; ++i) {
                try {
                    const EncodeRequest& r = *refs[i].request;
                    const std::string_view text = r.texts[refs[i].index];
                    tokenized[i] = r.prompt->empty() ? tokenizer.encode(text, max_tokens)
                                                     : tokenizer.encode(*r.prompt + std::string(text), max_tokens);
                } catch (...) {
                    token_errors[i] = std::current_exception();
                }
            }
        });
    }
    for (size_t i = 0; i < refs.size(); ++i)
        if (token_errors[i] && !refs[i].request->error) refs[i].request->error = token_errors[i];

    // The uncontended case (one request) writes straight into the caller's buffer, as before batching existed.
    if (batch.size() == 1) {
        EncodeRequest& r = *batch[0];
        if (r.error) return;
        forward_chunks(r.texts.empty() ? r.sequences : std::span<const std::vector<int32_t>>(tokenized), r.out);
        return;
    }

    // Several requests: pack the surviving ones end to end, one run of forward passes, then hand out the rows.
    std::vector<std::vector<int32_t>> sequences;
    std::vector<EncodeRequest*> members;
    size_t next_text = 0;
    for (EncodeRequest* r : batch) {
        const size_t first_text = next_text;
        next_text += r->texts.size();
        if (r->error) continue;
        members.push_back(r);
        if (r->texts.empty())
            sequences.insert(sequences.end(), r->sequences.begin(), r->sequences.end());
        else
            for (size_t i = first_text; i < next_text; ++i) sequences.push_back(std::move(tokenized[i]));
    }
    const size_t dims = info.hidden_size;
    std::vector<float> rows(sequences.size() * dims);
    try {
        forward_chunks(sequences, rows);
    } catch (...) {
        // One caller's input broke the pass (e.g. token ids outside the vocabulary): run each caller alone so
        // that only the guilty one gets the error, not every caller that happened to share its batch.
        size_t row = 0;
        for (EncodeRequest* r : members) {
            const auto own = std::span<const std::vector<int32_t>>(sequences).subspan(row, r->rows());
            row += r->rows();
            try {
                forward_chunks(own, r->out);
            } catch (...) {
                r->error = std::current_exception();
            }
        }
        return;
    }
    size_t row = 0;
    for (EncodeRequest* r : members) {
        std::memcpy(r->out.data(), rows.data() + row * dims, r->rows() * dims * sizeof(float));
        row += r->rows();
    }
}

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::~Encoder() = default;

std::unique_ptr<Encoder> Encoder::load(const std::filesystem::path& model_dir, const EncoderOptions& options) {
    log(LogLevel::info, "BLAS: " + blas::init());
    Precision precision = options.precision == Precision::automatic ? default_precision() : options.precision;
    if (!lowp::supported(precision))
        throw Error(std::string("precision ") + precision_name(precision) + " is not available here (" +
                    lowp::describe() + "; bf16 needs AVX512-BF16 or AMX, int8 AVX2); use fp32 or auto");
    ModelInfo info = read_model_config(model_dir);
    // Hashing the files and parsing the tokenizer run beside reading and packing the weights (a one-shot search
    // waits for all three; where no thread can be started they run when asked for); errors are reported in the
    // order they were checked in one after the other.
    const std::filesystem::path weights_file = info.weights_file;
    auto hash = std::async(std::launch::async | std::launch::deferred,
                           [&model_dir, weights_file] { return model_content_hash(model_dir, weights_file); });
    auto parsed =
        std::async(std::launch::async | std::launch::deferred, [&model_dir] { return Tokenizer::load(model_dir); });
    const size_t threads = options.threads == 0 ? hardware_threads() : options.threads;
    auto pool = std::make_unique<ThreadPool>(threads);
    std::unique_ptr<BertModel> model;
    std::exception_ptr weights_error;
    try {
        auto weights = BertWeights::load(std::make_shared<const TensorFile>(TensorFile::open(weights_file)), info,
                                         precision != Precision::fp32);
        model = std::make_unique<BertModel>(info, std::move(weights), *pool, precision);
    } catch (...) {
        weights_error = std::current_exception();
    }
    info.content_hash = hash.get();
    Tokenizer tokenizer = parsed.get();
    if (tokenizer.vocab_size() > info.vocab_size)
        throw ModelError((model_dir / "config.json").string() + ": vocab_size " + std::to_string(info.vocab_size) +
                         " is smaller than the tokenizer's vocabulary of " + std::to_string(tokenizer.vocab_size()));
    if (weights_error) std::rethrow_exception(weights_error);
    const size_t batch_size = std::max<size_t>(1, options.batch_size);
    model->reserve_tokens(batch_size * info.max_seq_length);
    auto impl = std::make_unique<Impl>(std::move(info), std::move(tokenizer), std::move(pool), std::move(model),
                                       batch_size, precision);
    log(LogLevel::info, std::string("encoder precision: ") + precision_name(precision) +
                            (precision == Precision::fp32 ? "" : " (" + lowp::describe() + ")"));
    return std::unique_ptr<Encoder>(new Encoder(std::move(impl)));
}

const ModelInfo& Encoder::info() const {
    return impl_->info;
}
const Tokenizer& Encoder::tokenizer() const {
    return impl_->tokenizer;
}
size_t Encoder::dims() const {
    return impl_->info.hidden_size;
}
size_t Encoder::threads() const {
    return impl_->pool.size();
}
Precision Encoder::precision() const {
    return impl_->precision;
}

EncoderCounters Encoder::counters() const {
    std::lock_guard lock(impl_->queue_mutex);
    return impl_->counters;
}

void Encoder::encode_tokens(std::span<const std::vector<int32_t>> sequences, std::span<float> out) {
    const size_t dims = impl_->info.hidden_size;
    if (out.size() != sequences.size() * dims)
        throw Error("encode: output holds " + std::to_string(out.size()) + " floats, expected " +
                    std::to_string(sequences.size() * dims));
    if (sequences.empty()) return;
    EncodeRequest request;
    request.sequences = sequences;
    request.out = out;
    impl_->submit(request);
}

void Encoder::encode(std::span<const std::string_view> texts, std::span<float> out, TextRole role) {
    const size_t dims = impl_->info.hidden_size;
    if (out.size() != texts.size() * dims)
        throw Error("encode: output holds " + std::to_string(out.size()) + " floats, expected " +
                    std::to_string(texts.size() * dims));
    if (texts.empty()) return;
    EncodeRequest request;
    request.texts = texts;
    request.prompt = role == TextRole::query     ? &impl_->info.query_prompt
                     : role == TextRole::passage ? &impl_->info.passage_prompt
                                                 : &no_prompt;
    request.out = out;
    impl_->submit(request);
}

std::vector<float> Encoder::encode(std::span<const std::string> texts, TextRole role) {
    std::vector<std::string_view> views(texts.begin(), texts.end());
    std::vector<float> out(texts.size() * dims());
    encode(views, out, role);
    return out;
}

}  // namespace leann
