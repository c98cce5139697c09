// Fuzzes the entry checks every tree entry from a peer passes (storage/incoming_history.h): any
// path, name, mode and size is accepted or refused with a message, and a refusal's message, like
// every escaped text, holds no control character.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/task_limits.h"
#include "storage/task_name.h"

namespace {

void CheckPrintable(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint32_t mode = in.ConsumeBool() ? in.PickValueInArray<uint32_t>({0040000, 0100644, 0100755,
                                                                          0120000, 0160000})
                                         : in.ConsumeIntegral<uint32_t>();
  const uint64_t entry_size = in.ConsumeIntegral<uint64_t>();
  const std::string prefix = in.ConsumeRandomLengthString(300);
  const std::string name = in.ConsumeRemainingBytesAsString();
  const std::string path = prefix.empty() ? name : prefix + "/" + name;
  const taskfs::Status st = taskfs::storage::CheckTreeEntry(path, name, mode, entry_size);
  CheckPrintable(st.message());
  CheckPrintable(taskfs::storage::EscapeForDisplay(path));
  // An accepted task name is a name the store's own rules accept.
  if (st.ok() && mode == 0100644 && name.ends_with(".yaml") && name.size() > 5 &&
      !taskfs::storage::IsTaskPath(name)) {
    std::abort();
  }
  return 0;
}
