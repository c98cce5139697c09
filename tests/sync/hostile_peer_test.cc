// A hostile or broken peer sends history that would poison a store (DESIGN.md: the tree is
// exactly what the mount shows): entries named `..` or `.git`, names holding '/' or a newline,
// symbolic links, submodules, a file over the size limit. Through each real transport, the
// history is refused as a whole with a message naming the peer and the entry, the honest
// client's tasks stay as they were, and no ref keeps the refused commit.
#include "sync/transport/folder_remote.h"
#include "tests/sync/sync_client.h"
#include "tests/sync/test_server.h"

namespace taskfs::testing {
namespace {

using Tree = std::map<std::string, std::string>;

// Commits on top of `git_dir`'s main a tree with one hostile entry of `kind`, with plain git
// (`hash-object --literally` writes what libgit2 and `git mktree` refuse to). Prints the commit.
constexpr const char* kCommitHostileEntry = R"PY(
import os, subprocess, sys
git_dir, kind = sys.argv[1], sys.argv[2]
env = dict(os.environ, GIT_AUTHOR_NAME='mallory', GIT_AUTHOR_EMAIL='m@x',
           GIT_COMMITTER_NAME='mallory', GIT_COMMITTER_EMAIL='m@x')
def git(*args, data=None):
    return subprocess.run(['git', '--git-dir', git_dir, *args], input=data, env=env,
                          capture_output=True, check=True).stdout
def obj(kind, data):
    return git('hash-object', '-w', '--literally', '-t', kind, '--stdin', data=data).strip().decode()
def tree(entries):
    return obj('tree', b''.join(m.encode() + b' ' + n + b'\0' + bytes.fromhex(h)
                                for m, n, h in sorted(entries, key=lambda e: e[1])))
head = git('rev-parse', 'refs/heads/main').strip().decode()
entries = []
for line in git('ls-tree', '-z', head).split(b'\0'):
    if line:
        meta, name = line.split(b'\t', 1)
        mode, _, h = meta.split(b' ')
        entries.append((mode.decode(), name, h.decode()))
task = obj('blob', b'title: x\n')
def fanout():  # 40 levels, each listing the next twice: 2^40 paths in 41 small trees
    t = tree([('100644', b'x.yaml', task)])
    for _ in range(40):
        t = tree([('40000', b'a', t), ('40000', b'b', t)])
    return t
extra = {
    'dotdot': lambda: ('40000', b'..', tree([('100644', b'x.yaml', task)])),
    'dotgit': lambda: ('40000', b'.git', tree([('100644', b'config',
                                                obj('blob', b'[core]\n\tfsmonitor = false\n'))])),
    'slash': lambda: ('100644', b'a/../../x.yaml', task),
    'newline': lambda: ('100644', b'x.yaml\ndrafts: 0', task),
    'symlink': lambda: ('120000', b'link.yaml', obj('blob', b'/etc/passwd')),
    'gitlink': lambda: ('160000', b'sub', head),
    'big': lambda: ('100644', b'big.yaml', obj('blob', b'notes: ' + b'a' * (2 << 20) + b'\n')),
    'fanout': lambda: ('40000', b'fan', fanout()),
}[kind]()
commit = git('commit-tree', tree(entries + [extra]), '-p', head, '-m', 'hostile ' + kind)
commit = commit.strip().decode()
git('update-ref', 'refs/heads/main', commit)
print(commit)
)PY";

struct Row {
  const char* kind;
  const char* expected;  // in the refusal message
};
const Row kRows[] = {
    {"dotdot", "entry '..': a name starting with '.'"},
    {"dotgit", "entry '.git': a name starting with '.'"},
    {"slash", "entry 'a/../../x.yaml': a name with '/'"},
    {"newline", "entry 'x.yaml\\x0adrafts: 0': a name with a control character"},
    {"symlink", "entry 'link.yaml': a symbolic link"},
    {"gitlink", "entry 'sub': a submodule"},
    {"big", "entry 'big.yaml': a file of 2097160 bytes (the limit is 1 MiB)"},
    {"fanout", "a tree of more than 10000000 files and folders"},
};

class HostilePeerTest
    : public ::testing::TestWithParam<std::tuple<sync::RemoteKind, const Row*>> {
 protected:
  void SetUp() override {
    if (kind() == sync::RemoteKind::kServer) {
      server_ = std::make_unique<TestServer>(dir_.path());
      remote_ = server_->url();
    } else {
      remote_ = MakeRemote(dir_, kind());
    }
    honest_ = MakeClient("honest");
    mallory_ = MakeClient("mallory");
    honest_->Write("a.yaml", "title: a\n");
    honest_->Sync();
    mallory_->Sync();
    honest_->Sync();
  }
  sync::RemoteKind kind() const { return std::get<0>(GetParam()); }
  const Row& row() const { return *std::get<1>(GetParam()); }
  std::unique_ptr<SyncClient> MakeClient(const std::string& name) {
    auto c = std::make_unique<SyncClient>(dir_.path(), name, remote_, kind(),
                                          server_ ? server_->cert() : "");
    if (server_) server_->Enroll(*c, name);
    return c;
  }
  // Commits the hostile entry in `git_dir`; returns the commit.
  std::string CommitHostileEntry(const std::string& git_dir) {
    CommandResult r = RunCommand("python3 -c " + Quote(kCommitHostileEntry) + " " + Quote(git_dir) +
                                 " " + row().kind + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, 40);
  }
  void ExpectRefused(const Status& st, const std::string& commit, const std::string& peer) {
    EXPECT_EQ(st.code(), Status::Code::kRefused) << st.ToString();
    EXPECT_NE(st.message().find("refused commit " + commit.substr(0, 12) + " from " + peer),
              std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find(row().expected), std::string::npos) << st.message();
  }
  // The honest client is as it was, its store clean, and nothing refers to the commit.
  void ExpectHonestUntouched(const std::string& commit) {
    EXPECT_EQ(honest_->Tree(), (Tree{{"a.yaml", "title: a\n"}}));
    EXPECT_EQ(GitFsckErrors(honest_->path()), "");
    CommandResult refs = RunCommand("git --git-dir=" + Quote(honest_->path()) +
                                    " for-each-ref --format='%(objectname)'");
    EXPECT_EQ(refs.output.find(commit), std::string::npos) << refs.output;
    EXPECT_EQ(RunCommand("ls -A " + Quote(honest_->path() + "/taskfs/quarantine")).output, "")
        << "a quarantine was left behind";
  }

  TempDir dir_;
  std::unique_ptr<TestServer> server_;
  std::string remote_;
  std::unique_ptr<SyncClient> honest_, mallory_;
};

TEST_P(HostilePeerTest, HistoryBreakingTheStoreRulesIsRefusedAsAWhole) {
  switch (kind()) {
    case sync::RemoteKind::kGit: {
      // Pushed to the bare repository by any git client: the honest client refuses to take it.
      const std::string commit = CommitHostileEntry(remote_);
      auto r = sync::SyncWithRemote(honest_->store(), "origin", {});
      ExpectRefused(r.status(), commit, "remote origin");
      ExpectHonestUntouched(commit);
      break;
    }
    case sync::RemoteKind::kFolder: {
      // Published to the shared folder by another client: refused, while the honest client's
      // own work still goes out to the others.
      const std::string commit = CommitHostileEntry(mallory_->path());
      ASSERT_TRUE(sync::PublishToFolder(mallory_->store(), "origin", remote_).ok());
      auto r = sync::SyncWithRemote(honest_->store(), "origin", {});
      ExpectRefused(r.status(), commit,
                    "client " + mallory_->store().client_id() + " of folder remote origin");
      ExpectHonestUntouched(commit);
      honest_->Write("b.yaml", "title: b\n");
      EXPECT_FALSE(sync::SyncWithRemote(honest_->store(), "origin", {}).ok());
      auto third = MakeClient("third");
      EXPECT_FALSE(sync::SyncWithRemote(third->store(), "origin", {}).ok());
      EXPECT_EQ(third->Read("b.yaml"), "title: b\n");
      break;
    }
    case sync::RemoteKind::kServer: {
      // Pushed to taskfs-server by a registered client: the server refuses it with 422, so
      // the others go on syncing.
      const std::string commit = CommitHostileEntry(mallory_->path());
      auto r = sync::SyncWithRemote(mallory_->store(), "origin", {});
      ExpectRefused(r.status(), commit, "client mallory");
      EXPECT_NE(r.status().message().find("422"), std::string::npos) << r.status().message();
      EXPECT_EQ(GitFsckErrors(server_->store()), "");
      honest_->Write("b.yaml", "title: b\n");
      honest_->Sync();
      auto third = MakeClient("third");
      third->Sync();
      EXPECT_EQ(third->Tree(), (Tree{{"a.yaml", "title: a\n"}, {"b.yaml", "title: b\n"}}));
      EXPECT_EQ(GitFsckErrors(third->path()), "");
      break;
    }
  }
}

std::string Name(const ::testing::TestParamInfo<HostilePeerTest::ParamType>& info) {
  const char* kinds[] = {"Git", "Folder", "Server"};
  std::string kind = kinds[static_cast<int>(std::get<0>(info.param))];
  return kind + "_" + std::get<1>(info.param)->kind;
}
// Every row through every transport, but the fan-out tree through taskfs-server: the client
// that pushes it is a taskfs store itself, which would have to read its own 2^40 paths first.
std::vector<HostilePeerTest::ParamType> Cases() {
  std::vector<HostilePeerTest::ParamType> cases;
  for (auto kind :
       {sync::RemoteKind::kGit, sync::RemoteKind::kFolder, sync::RemoteKind::kServer}) {
    for (const Row& r : kRows) {
      if (kind != sync::RemoteKind::kServer || std::string(r.kind) != "fanout") {
        cases.emplace_back(kind, &r);
      }
    }
  }
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Transports, HostilePeerTest, ::testing::ValuesIn(Cases()), Name);

}  // namespace
}  // namespace taskfs::testing
