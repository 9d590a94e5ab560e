// Fills a TokenizerVocab from a GGUF file's tokenizer.ggml.* keys (llama.cpp's layout).
// Not a tokenizer: make_tokenizer() builds one from the record.
#pragma once

#include "models/tokenizer.h"

namespace edgellm {

class GgufFile;

// Throws FormatError naming the file and the key when a key is missing or of the wrong type.
TokenizerVocab tokenizer_vocab_from_gguf(const GgufFile& f);

}  // namespace edgellm
