// The prompt of `leann ask`: retrieved passages go to the LLM as untrusted reference data, fenced so that nothing
// inside a passage can pass for the end of its fence or for an instruction from us (DESIGN.md, "Principles").
//
// Shape (docs/ask.md):
//   system     what the passages are (data, never instructions), how they are fenced, answer only from them,
//              cite as [n]
//   user/assistant pairs of earlier turns (questions and answers only; their passages are not resent)
//   user       the passages, each between <<<PASSAGE n NONCE source="...">>> and <<<END PASSAGE n NONCE>>>,
//              then the question
// NONCE is random per request and absent from every passage, and any run of three '<' or '>' inside a passage is
// broken up, so a passage can neither close its own fence nor open a fake one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "leann/index.h"

namespace leann::rag {

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

/// One retrieved passage as the prompt shows it.
struct Passage {
    std::string source;  // "path:line" for chunks of files, else the document id
    std::string text;
    float score = 0;
};

/// A hit's label: metadata source + start_line when the chunk came from a file, else its id.
Passage passage_from_hit(const Hit& hit);

struct PromptOptions {
    size_t context_bytes = 12000;   // all passage texts together, in UTF-8 bytes (the LLM's context is finite)
    size_t max_source_bytes = 300;  // a source label longer than this is cut
};

/// A question and its answer, kept as chat history for the next turn.
struct Turn {
    std::string question;
    std::string answer;
};

struct Prompt {
    std::vector<ChatMessage> messages;
    std::vector<Passage> passages;  // as given to the LLM: numbered [1..n] in this order, texts after the budget
    std::string nonce;              // the fence marker of this request
};

/// Builds the messages. `nonce` may be given (tests); empty means a fresh random one. A nonce that occurs in any
/// passage, source or in the question is replaced by a fresh one, so a fence can never be forged.
Prompt build_prompt(std::string_view question, const std::vector<Passage>& passages, const std::vector<Turn>& history,
                    const PromptOptions& options = {}, std::string nonce = {});

/// Cuts `text` to at most `max_bytes` bytes at a character boundary, preferring a space or newline in the last
/// fifth, and marks the cut with " [...]" (which is not counted in `max_bytes`). Invalid UTF-8 is repaired first.
std::string truncate_utf8(std::string_view text, size_t max_bytes);

/// Per-passage byte caps: the largest cap c with sum(min(len_i, c)) <= budget, so short passages are kept whole and
/// the long ones share the rest evenly ("water filling").
std::vector<size_t> passage_budgets(const std::vector<size_t>& lengths, size_t budget);

/// Breaks every run of three or more '<' or '>' ("<<<" becomes "<< <"), so fence markers cannot appear.
std::string neutralise_fences(std::string_view text);

/// A fresh random fence marker: 16 lowercase hex digits.
std::string random_nonce();

}  // namespace leann::rag
