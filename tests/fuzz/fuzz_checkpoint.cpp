// libFuzzer target: a training checkpoint (safetensors with "edgellm.checkpoint" metadata) -> Trainer::resume
// of the fuzz::TrainSetup run (LoRA, AdamW), then the packed row the resumed step would read next.
// Not a training run: no step is taken (a step costs ~100x a resume); tests/train covers resumed training.
#include "fuzz_common.h"
#include "fuzz_train_setup.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static fuzz::TrainSetup s;
  SafetensorsFile f = SafetensorsFile::parse(MappedFile::from_memory("fuzz/checkpoint.safetensors", std::string(bytes)));
  s.trainer.resume(f);
  int32_t ids[16], targets[16];
  s.data.row(s.trainer.step() * s.trainer.rows_per_step(), ids, targets);
}
