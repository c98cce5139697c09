// Thread names: each thread taskfs starts names itself, so `top -H`, gdb and
// /proc/PID/task/*/comm tell the committer from the repacker and the FUSE workers.
#pragma once

#include <pthread.h>

namespace taskfs::storage {

// Names the calling thread (at most 15 characters are kept, what Linux allows).
inline void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace taskfs::storage
