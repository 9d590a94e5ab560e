// Memory and time of the study's methods at any model size, for the advisor to bind a budget on a model the study
// never ran: analytic bytes (weights by compression, trainable state, LlamaGrad::activation_bytes) and FLOPs, with
// a scale, an overhead and a rate per cost class fitted to measurements on seeded random models (builtin:110m,
// builtin:1.1b). Not a quality predictor: the advisor's scores are only ever measured ones.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/llama_config.h"

namespace edgellm::study {

// none and rag-* answer (and index) with the base: "inference"; lora-r*, lora+rag, ft+qa: "lora"; full: "full".
std::string cost_class(const std::string& method);

// The bytes of a model's weights stored as a study compression (f32, q8_0, rtn4/gptq4/awq4 as Q4_0, gptq3 as
// group-int 3-bit g32); a row whose length the block does not divide is f16, as save_llama_gguf writes it.
double weight_bytes(const LlamaConfig& c, const std::string& compression);
// Every parameter (matrices, norms, biases; a tied head once).
double model_params(const LlamaConfig& c);
// Multiply-add weights of one token's forward pass (every matrix but the embedding lookup; the head counts).
double matmul_params(const LlamaConfig& c);
// Bytes beyond the weights that the analytic model counts for a class at (batch, seq_len): LoRA or full trainable
// state (value + gradient + two AdamW moments, and full's f32 copy), LlamaGrad::activation_bytes; for inference the
// KV cache, logits and one layer's scratch of a seq_len-token prompt.
double extra_bytes(const LlamaConfig& c, const std::string& cls, int batch, int seq_len, int rank = 8);
// FLOPs of one optimizer step (lora: 4·P·tokens, forward and the input gradient; full: 6·P·tokens) or of one
// prompt's forward (inference: 2·P·tokens).
double step_flops(const LlamaConfig& c, const std::string& cls, int batch, int seq_len);

struct CostMeasurement {
  std::string model, cls;         // builtin:110m, lora
  int64_t params = 0;
  int batch = 0, seq_len = 0;
  double peak_bytes = 0;          // arena peak (weights charged or added when mapped), from before the model loads
  double weight_bytes = 0, extra_bytes = 0;  // the analytic parts at f32
  double cpu_seconds = 0;         // of the last step (the first allocates), or of the prompt's forward
  double flops = 0;
};

struct CostCoef {
  double scale = 1, overhead = 0;  // peak = weights + scale · extra + overhead
  double flop_rate = 0;            // FLOP per CPU second, pooled over the class's measurements
};

struct CostModel {
  std::map<std::string, CostCoef> coef;  // by class
  double rss_baseline = 0;               // the process before any model (code, libraries): added to every peak
  std::string command, machine;          // how and where it was measured
  std::vector<CostMeasurement> measurements;
};

struct CostPrediction {
  double peak_bytes = 0;         // resident peak, baseline included
  double seconds_per_step = 0;   // CPU seconds of one optimizer step (inference: one prompt's forward)
};
// mapped_weights: the weights come from a file (GGUF, safetensors), whose pages full fine-tuning keeps beside the
// f32 copy it trains (4 bytes a parameter more than a built-in model, whose charged weights are trained in place).
CostPrediction predict_cost(const CostModel& m, const LlamaConfig& c, const std::string& compression,
                            const std::string& method, int batch = 8, int seq_len = 64, bool mapped_weights = true);

// Loads `spec` (builtin:<preset> in practice), runs one class at (batch, seq_len) and measures it: training runs
// `steps` optimizer steps of LoRA r8 or full fine-tuning on seeded random tokens; inference one greedy prompt.
CostMeasurement measure_cost(const std::string& spec, const std::string& cls, int batch, int seq_len, int steps = 2);
// Least squares per class (one measurement: scale 1); the rate is Σ FLOPs / Σ CPU seconds.
CostModel fit_cost_model(std::vector<CostMeasurement> ms, double rss_baseline);

// JSON (bench/study/cost_model.json holds the committed one); errors name the file and the field.
void save_cost_model(const CostModel& m, const std::string& path);
CostModel load_cost_model(const std::string& path);
std::string default_cost_model_path();  // bench/study/cost_model.json (checkout or beside this source)

// The shape of a model spec without loading its weights: builtin:<preset>[:seed], a .gguf file (its header) or a
// Hugging Face folder (config.json); nullopt when the spec names none of these.
std::optional<LlamaConfig> model_config_of(const std::string& spec);

// Resident bytes of this process now (/proc/self/statm), for the baseline.
double current_rss_bytes();

}  // namespace edgellm::study
