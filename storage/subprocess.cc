#include "storage/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "storage/unique_fd.h"

extern char** environ;

namespace taskfs::storage {
namespace {

// A pipe's two ends, each closed when its handle is reset or goes out of scope.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

// Makes a pipe with both ends close-on-exec; false (errno set) if it could not.
bool OpenPipe(Pipe* pipe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  pipe->read_end.reset(fds[0]);
  pipe->write_end.reset(fds[1]);
  return true;
}

// Writes `input` to `in_fd` and reads `out_fd` to its end, both at once (poll), so that a child
// that writes before it has read everything never blocks us, nor we it.
void Exchange(Pipe& in, Pipe& out, const std::string& input, std::string* output) {
  size_t written = 0;
  if (input.empty()) in.write_end.reset();
  char buf[4096];
  while (out.read_end) {
    pollfd fds[2] = {{out.read_end.get(), POLLIN, 0}, {in.write_end.get(), POLLOUT, 0}};
    if (::poll(fds, in.write_end ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (in.write_end && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::write(in.write_end.get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();  // it closed stdin
      if (written == input.size()) in.write_end.reset();
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      const ssize_t n = ::read(out.read_end.get(), buf, sizeof buf);
      if (n > 0) output->append(buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) out.read_end.reset();
    }
  }
}

// Blocks SIGPIPE in this thread while it lives (a child that exits before reading its stdin must
// not kill us), and takes back a SIGPIPE that arrived meanwhile.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    const timespec no_wait{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &no_wait) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  const sigset_t& old_mask() const { return old_; }

 private:
  sigset_t pipe_;
  sigset_t old_;
};

}  // namespace

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, const std::string& input,
                                 const std::vector<std::string>& extra_env) {
  if (argv.empty()) return Status::InvalidArgument("no program to run");
  Pipe in, out;
  if (!OpenPipe(&in) || !OpenPipe(&out)) {
    return Status::FromErrno(errno, "starting " + argv[0]);
  }
  // Our ends never block (a write of more than the pipe holds would wait for a child that
  // waits for us to read); the child's ends are other open files, left blocking.
  ::fcntl(in.write_end.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(out.read_end.get(), F_SETFL, O_NONBLOCK);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read_end.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const std::string& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  SigpipeBlocked no_sigpipe;
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setsigmask(&attributes, &no_sigpipe.old_mask());  // the child gets ours back
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return Status::FromErrno(rc, "starting " + argv[0]);
  in.read_end.reset();
  out.write_end.reset();
  ProcessOutput result;
  Exchange(in, out, input, &result.output);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace taskfs::storage
