// JSONL records as `leann build --docs FILE.jsonl` reads them (read_jsonl_documents): a bad line is skipped with
// its FILE:LINE, never the whole file.
#include "fuzz_support.h"
#include "leann/error.h"
#include "leann/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto path = leann::fuzz::write_scratch("docs.jsonl", leann::fuzz::as_text(data, size));
    leann::ReadReport report;
    try {
        (void)leann::read_jsonl_documents(path, report);
    } catch (const leann::Error&) {
    }
    return 0;
}
