#include "leann/encoder.h"

#include <algorithm>
#include <mutex>

#include "embed/bert_model.h"
#include "embed/blas.h"
#include "embed/tensor_file.h"
#include "leann/error.h"
#include "leann/log.h"
#include "util/thread_pool.h"

namespace leann {

struct Encoder::Impl {
    Impl(ModelInfo model_info, Tokenizer tok, size_t threads, size_t batch)
        : info(std::move(model_info)), tokenizer(std::move(tok)), pool(threads), batch_size(batch) {}

    ModelInfo info;
    Tokenizer tokenizer;
    ThreadPool pool;
    std::unique_ptr<BertModel> model;
    size_t batch_size;
    std::mutex mutex;
};

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::~Encoder() = default;

std::unique_ptr<Encoder> Encoder::load(const std::filesystem::path& model_dir, const EncoderOptions& options) {
    log(LogLevel::info, "BLAS: " + blas::init());
    ModelInfo info = read_model_info(model_dir);
    Tokenizer tokenizer = Tokenizer::load(model_dir);
    if (tokenizer.vocab_size() > info.vocab_size)
        throw ModelError((model_dir / "config.json").string() + ": vocab_size " + std::to_string(info.vocab_size) +
                         " is smaller than the tokenizer's vocabulary of " + std::to_string(tokenizer.vocab_size()));
    TensorFile weights_file = TensorFile::open(info.weights_file);
    BertWeights weights = BertWeights::load(weights_file, info);
    const size_t threads = options.threads == 0 ? hardware_threads() : options.threads;
    auto impl = std::make_unique<Impl>(info, std::move(tokenizer), threads, std::max<size_t>(1, options.batch_size));
    impl->model = std::make_unique<BertModel>(std::move(info), std::move(weights), impl->pool);
    return std::unique_ptr<Encoder>(new Encoder(std::move(impl)));
}

const ModelInfo& Encoder::info() const { return impl_->info; }
const Tokenizer& Encoder::tokenizer() const { return impl_->tokenizer; }
size_t Encoder::dims() const { return impl_->info.hidden_size; }
size_t Encoder::threads() const { return impl_->pool.size(); }

void Encoder::encode_tokens(std::span<const std::vector<int32_t>> sequences, std::span<float> out) {
    const size_t dims = impl_->info.hidden_size;
    if (out.size() != sequences.size() * dims)
        throw Error("encode: output holds " + std::to_string(out.size()) + " floats, expected " +
                    std::to_string(sequences.size() * dims));
    std::lock_guard lock(impl_->mutex);
    for (size_t begin = 0; begin < sequences.size(); begin += impl_->batch_size) {
        const size_t end = std::min(sequences.size(), begin + impl_->batch_size);
        impl_->model->forward(sequences.subspan(begin, end - begin), out.subspan(begin * dims, (end - begin) * dims));
    }
}

void Encoder::encode(std::span<const std::string_view> texts, std::span<float> out, TextRole role) {
    const std::string& prompt = role == TextRole::query     ? impl_->info.query_prompt
                                : role == TextRole::passage ? impl_->info.passage_prompt
                                                            : std::string();
    std::vector<std::vector<int32_t>> sequences(texts.size());
    const size_t max_tokens = impl_->info.max_seq_length;
    auto tokenize = [&](size_t i) {
        sequences[i] = prompt.empty() ? impl_->tokenizer.encode(texts[i], max_tokens)
                                      : impl_->tokenizer.encode(prompt + std::string(texts[i]), max_tokens);
    };
    {
        std::lock_guard lock(impl_->mutex);  // the pool takes one caller at a time
        impl_->pool.parallel_for(texts.size(), impl_->pool.size(), [&](size_t, size_t b, size_t e) {
            for (size_t i = b; i < e; ++i) tokenize(i);
        });
    }
    encode_tokens(sequences, out);
}

std::vector<float> Encoder::encode(std::span<const std::string> texts, TextRole role) {
    std::vector<std::string_view> views(texts.begin(), texts.end());
    std::vector<float> out(texts.size() * dims());
    encode(views, out, role);
    return out;
}

}  // namespace leann
