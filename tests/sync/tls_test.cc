// TLS identities: the key pairs and self-signed certificates MakeIdentity makes (checked with the
// openssl command line), key fingerprints and public keys of good and bad PEM, owner-only key
// files, and real TLS 1.3 handshakes over a socketpair where the pins decide who gets in.
#include "sync/transport/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using taskfs::testing::CommandResult;
using taskfs::testing::Quote;
using taskfs::testing::ReadFile;
using taskfs::testing::RunCommand;
using taskfs::testing::TempDir;
using taskfs::testing::WriteFile;

Identity NewIdentity(const std::string& name, const std::vector<std::string>& hosts = {}) {
  auto id = MakeIdentity(name, hosts);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : Identity{};
}

std::string Fingerprint(const std::string& pem) {
  auto fp = KeyFingerprint(pem);
  EXPECT_TRUE(fp.ok()) << fp.status().ToString();
  return fp.ok() ? *fp : "";
}

// Runs `command` with /bin/sh, expecting it to succeed; its output.
std::string Shell(const std::string& command) {
  CommandResult r = RunCommand(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  return r.output;
}

// What the openssl command line says the fingerprint of the public key in `cert_file` is.
std::string OpensslFingerprint(const std::string& cert_file) {
  std::string out = Shell("openssl x509 -in " + Quote(cert_file) +
                          " -pubkey -noout | openssl pkey -pubin -outform DER | "
                          "openssl dgst -sha256 -r");
  return "sha256:" + out.substr(0, out.find(' '));
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Tls, MakeIdentityMakesAP256KeyAndASelfSignedCertificateForTenYears) {
  TempDir dir;
  const Identity id = NewIdentity("ada's laptop");
  EXPECT_TRUE(id.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << id.key_pem;
  EXPECT_TRUE(id.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n")) << id.cert_pem;
  WriteFile(dir / "key.pem", id.key_pem);
  WriteFile(dir / "cert.pem", id.cert_pem);

  EXPECT_TRUE(Contains(Shell("openssl pkey -in " + Quote(dir / "key.pem") + " -noout -text"),
                       "prime256v1"));
  const std::string subject = Shell("openssl x509 -in " + Quote(dir / "cert.pem") +
                                    " -noout -subject -issuer -nameopt RFC2253");
  EXPECT_TRUE(Contains(subject, "subject=CN=ada's laptop")) << subject;
  EXPECT_TRUE(Contains(subject, "issuer=CN=ada's laptop")) << subject;
  // Signed by its own key.
  EXPECT_TRUE(Contains(
      Shell("openssl verify -CAfile " + Quote(dir / "cert.pem") + " " + Quote(dir / "cert.pem")),
      ": OK"));
  // The key in the certificate is the private key's.
  EXPECT_EQ(Shell("openssl x509 -in " + Quote(dir / "cert.pem") + " -noout -pubkey"),
            Shell("openssl pkey -in " + Quote(dir / "key.pem") + " -pubout"));
  // Valid now and in nine years, not in eleven.
  const std::string checkend = "openssl x509 -in " + Quote(dir / "cert.pem") + " -noout -checkend ";
  EXPECT_EQ(RunCommand(checkend + "0").exit_code, 0);
  EXPECT_EQ(RunCommand(checkend + std::to_string(9L * 365 * 86400)).exit_code, 0);
  EXPECT_EQ(RunCommand(checkend + std::to_string(11L * 365 * 86400)).exit_code, 1);
}

TEST(Tls, HostsBecomeDnsAndIpSubjectAltNames) {
  TempDir dir;
  WriteFile(dir / "with.pem",
            NewIdentity("server", {"tasks.example.org", "127.0.0.1", "::1"}).cert_pem);
  const std::string san =
      Shell("openssl x509 -in " + Quote(dir / "with.pem") + " -noout -ext subjectAltName");
  EXPECT_TRUE(Contains(san, "DNS:tasks.example.org")) << san;
  EXPECT_TRUE(Contains(san, "IP Address:127.0.0.1")) << san;
  EXPECT_TRUE(Contains(san, "IP Address:0:0:0:0:0:0:0:1")) << san;
  EXPECT_FALSE(Contains(san, "DNS:127.0.0.1")) << san;

  WriteFile(dir / "without.pem", NewIdentity("client").cert_pem);
  const std::string none =
      Shell("openssl x509 -in " + Quote(dir / "without.pem") + " -noout -text");
  EXPECT_FALSE(Contains(none, "Subject Alternative Name")) << none;
}

TEST(Tls, EveryIdentityHasItsOwnKeyAndSerial) {
  TempDir dir;
  const Identity a = NewIdentity("same"), b = NewIdentity("same");
  EXPECT_NE(a.key_pem, b.key_pem);
  EXPECT_NE(Fingerprint(a.cert_pem), Fingerprint(b.cert_pem));
  WriteFile(dir / "a.pem", a.cert_pem);
  WriteFile(dir / "b.pem", b.cert_pem);
  const std::string serial = "openssl x509 -noout -serial -in ";
  EXPECT_NE(Shell(serial + Quote(dir / "a.pem")), Shell(serial + Quote(dir / "b.pem")));
}

TEST(Tls, TheFingerprintIsTheSha256OfTheSubjectPublicKeyInfo) {
  TempDir dir;
  const Identity id = NewIdentity("ada");
  WriteFile(dir / "cert.pem", id.cert_pem);
  const std::string fp = Fingerprint(id.cert_pem);
  ASSERT_EQ(fp.size(), 7u + 64u) << fp;
  EXPECT_TRUE(fp.starts_with("sha256:")) << fp;
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef", 7), std::string::npos) << fp;
  EXPECT_EQ(fp, OpensslFingerprint(dir / "cert.pem"));
}

TEST(Tls, TheFingerprintNamesTheKeyNotTheCertificate) {
  TempDir dir;
  const Identity id = NewIdentity("ada");
  WriteFile(dir / "key.pem", id.key_pem);
  const std::string fp = Fingerprint(id.cert_pem);

  // The public key alone, as we write it and as openssl writes it.
  auto pub = PublicKeyPem(id.cert_pem);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(Fingerprint(*pub), fp);
  EXPECT_EQ(Fingerprint(Shell("openssl pkey -in " + Quote(dir / "key.pem") + " -pubout")), fp);
  // Another certificate for the same key, with another name, made by openssl.
  Shell("openssl req -new -x509 -key " + Quote(dir / "key.pem") + " -subj /CN=someone-else" +
        " -days 2 -out " + Quote(dir / "other.pem") + " 2>&1");
  const std::string other = ReadFile(dir / "other.pem");
  ASSERT_NE(other, id.cert_pem);
  EXPECT_EQ(Fingerprint(other), fp);
  // Another key with the same name is another fingerprint.
  EXPECT_NE(Fingerprint(NewIdentity("ada").cert_pem), fp);
}

TEST(Tls, KeysOfOtherTypesHaveFingerprintsToo) {
  TempDir dir;
  Shell("openssl req -x509 -newkey ed25519 -nodes -subj /CN=ed -days 2 -keyout " +
        Quote(dir / "ed.key") + " -out " + Quote(dir / "ed.pem") + " 2>&1");
  const std::string cert = ReadFile(dir / "ed.pem");
  EXPECT_EQ(Fingerprint(cert), OpensslFingerprint(dir / "ed.pem"));
  auto pub = PublicKeyPem(cert);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(*pub, Shell("openssl pkey -in " + Quote(dir / "ed.key") + " -pubout"));
}

TEST(Tls, PublicKeyPemGivesThePublicKeyOfACertificateOrAKey) {
  const Identity id = NewIdentity("ada");
  auto pub = PublicKeyPem(id.cert_pem);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_TRUE(pub->starts_with("-----BEGIN PUBLIC KEY-----\n")) << *pub;
  EXPECT_TRUE(pub->ends_with("-----END PUBLIC KEY-----\n")) << *pub;
  EXPECT_FALSE(Contains(*pub, "CERTIFICATE"));
  EXPECT_FALSE(Contains(*pub, "PRIVATE"));
  auto again = PublicKeyPem(*pub);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *pub);
}

TEST(Tls, WhatIsNotACertificateOrPublicKeyIsRefused) {
  const Identity id = NewIdentity("ada");
  const std::string body_start = "-----BEGIN CERTIFICATE-----\n";
  const std::string end = "-----END CERTIFICATE-----\n";
  const std::vector<std::string> bad = {
      "",
      "garbage",
      id.key_pem,                                                  // a private key
      id.cert_pem.substr(0, id.cert_pem.size() / 2),               // torn, no END line
      id.cert_pem.substr(0, id.cert_pem.size() / 2) + "\n" + end,  // cut short
      body_start + "!!!! not base64 !!!!\n" + end,
      body_start + end,  // empty
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
  };
  for (const std::string& pem : bad) {
    auto fp = KeyFingerprint(pem);
    ASSERT_FALSE(fp.ok()) << "fingerprint " << *fp << " of:\n" << pem;
    EXPECT_EQ(fp.status().code(), Status::Code::kInvalidArgument) << pem;
    auto pub = PublicKeyPem(pem);
    ASSERT_FALSE(pub.ok()) << "public key of:\n" << pem;
    EXPECT_EQ(pub.status().code(), Status::Code::kInvalidArgument) << pem;
  }
  // A failure leaves nothing behind that spoils the next call.
  EXPECT_EQ(Fingerprint(id.cert_pem).size(), 71u);
}

TEST(Tls, TheFingerprintOfAnX509IsThatOfItsPem) {
  const Identity id = NewIdentity("ada");
  BIO* bio = BIO_new_mem_buf(id.cert_pem.data(), static_cast<int>(id.cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  auto fp = KeyFingerprint(cert);
  X509_free(cert);
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(*fp, Fingerprint(id.cert_pem));
  EXPECT_FALSE(KeyFingerprint(static_cast<X509*>(nullptr)).ok());
}

TEST(Tls, ASecretFileMustBeReadableByItsOwnerOnly) {
  TempDir dir;
  const std::string file = dir / "client.key";
  WriteFile(file, "secret");
  for (const char* ok : {"600", "400", "700", "200"}) {
    ASSERT_EQ(::chmod(file.c_str(), static_cast<mode_t>(std::stoi(ok, nullptr, 8))), 0);
    Status st = CheckSecretFile(file);
    EXPECT_TRUE(st.ok()) << ok << ": " << st.ToString();
  }
  for (const char* bad : {"640", "604", "644", "660", "602", "610", "601", "777"}) {
    ASSERT_EQ(::chmod(file.c_str(), static_cast<mode_t>(std::stoi(bad, nullptr, 8))), 0);
    Status st = CheckSecretFile(file);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.code(), Status::Code::kPermissionDenied);
    EXPECT_TRUE(Contains(st.message(), file)) << st.message();
    EXPECT_TRUE(Contains(st.message(), "chmod 600")) << st.message();
  }
  Status missing = CheckSecretFile(dir / "nothing-here");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
}

// --- real handshakes ---

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// Accepts the peer only if its certificate's key has the fingerprint `want`, as taskfs-server
// and its clients do (SSL_CTX_set_cert_verify_callback).
struct Pin {
  std::string want;
  std::string seen;
};

int CheckPin(X509_STORE_CTX* ctx, void* arg) {
  auto* pin = static_cast<Pin*>(arg);
  auto fp = KeyFingerprint(X509_STORE_CTX_get0_cert(ctx));
  pin->seen = fp.ok() ? *fp : "(" + fp.status().message() + ")";
  if (fp.ok() && *fp == pin->want) return 1;
  X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
  return 0;
}

// A TLS 1.3 context with `id` as its certificate and key, verifying the peer by `pin`.
CtxPtr MakeContext(bool server, const Identity& id, Pin* pin) {
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()), &SSL_CTX_free);
  EXPECT_NE(ctx.get(), nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  BIO* cert_bio = BIO_new_mem_buf(id.cert_pem.data(), static_cast<int>(id.cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(id.key_pem.data(), static_cast<int>(id.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  EXPECT_NE(cert, nullptr);
  EXPECT_NE(key, nullptr);
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key), 1);
  EXPECT_EQ(SSL_CTX_check_private_key(ctx.get()), 1);
  X509_free(cert);
  EVP_PKEY_free(key);
  SSL_CTX_set_verify(ctx.get(),
                     server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                     nullptr);
  SSL_CTX_set_cert_verify_callback(ctx.get(), CheckPin, pin);
  return ctx;
}

struct Outcome {
  bool client_done = false;         // the client's handshake completed
  bool server_done = false;         // the server's handshake completed
  std::string server_got;           // what the server read from the client afterwards
  bool client_read_failed = false;  // the client's read after the handshake failed
  Pin client_pin;                   // what the client saw of the server
  Pin server_pin;                   // what the server saw of the client
};

// A TLS 1.3 handshake between `server` and `client` over a socketpair, in this thread: both
// ends are non-blocking and take turns until each has finished or failed. The client pins
// `server_fingerprint`, the server admits `client_fingerprint`. Then the client sends "ping".
Outcome Handshake(const Identity& server, const std::string& server_fingerprint,
                  const Identity& client, const std::string& client_fingerprint) {
  Outcome out;
  out.client_pin.want = server_fingerprint;
  out.server_pin.want = client_fingerprint;
  CtxPtr sctx = MakeContext(true, server, &out.server_pin);
  CtxPtr cctx = MakeContext(false, client, &out.client_pin);
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  SSL* c = SSL_new(cctx.get());
  SSL* s = SSL_new(sctx.get());
  SSL_set_fd(c, fds[0]);
  SSL_set_fd(s, fds[1]);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);

  enum class State { kRunning, kDone, kFailed };
  State cs = State::kRunning, ss = State::kRunning;
  auto step = [](SSL* ssl, State& st) {
    if (st != State::kRunning) return;
    const int r = SSL_do_handshake(ssl);
    if (r == 1) {
      st = State::kDone;
      return;
    }
    const int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) st = State::kFailed;
  };
  // Each turn moves at least one flight of messages; a handful of turns is a whole handshake.
  for (int turn = 0; turn < 100 && (cs == State::kRunning || ss == State::kRunning); ++turn) {
    step(c, cs);
    step(s, ss);
  }
  EXPECT_NE(cs, State::kRunning) << "the client's handshake never ended";
  EXPECT_NE(ss, State::kRunning) << "the server's handshake never ended";
  out.client_done = cs == State::kDone;
  out.server_done = ss == State::kDone;

  if (out.client_done && out.server_done) {
    EXPECT_EQ(SSL_write(c, "ping", 4), 4);
    char buf[16];
    int n = -1;
    for (int turn = 0; turn < 100 && n <= 0; ++turn) {
      n = SSL_read(s, buf, sizeof buf);
      if (n <= 0 && SSL_get_error(s, n) != SSL_ERROR_WANT_READ) break;
    }
    if (n > 0) out.server_got.assign(buf, static_cast<size_t>(n));
  } else if (out.client_done) {
    // TLS 1.3: the client finishes before the server has judged its certificate, and learns
    // of the refusal from the alert the server sent.
    char buf[16];
    const int n = SSL_read(c, buf, sizeof buf);
    out.client_read_failed = n <= 0 && SSL_get_error(c, n) != SSL_ERROR_WANT_READ;
  }
  SSL_free(c);
  SSL_free(s);
  ::close(fds[0]);
  ::close(fds[1]);
  ERR_clear_error();
  return out;
}

TEST(TlsHandshake, APinnedServerAndARegisteredClientGetThrough) {
  const Identity server = NewIdentity("taskfs-server", {"127.0.0.1"});
  const Identity client = NewIdentity("ada");
  Outcome o = Handshake(server, Fingerprint(server.cert_pem), client, Fingerprint(client.cert_pem));
  EXPECT_TRUE(o.client_done);
  EXPECT_TRUE(o.server_done);
  EXPECT_EQ(o.server_got, "ping");
  // Each side saw the other's key by the fingerprint KeyFingerprint gives its PEM.
  EXPECT_EQ(o.client_pin.seen, Fingerprint(server.cert_pem));
  EXPECT_EQ(o.server_pin.seen, Fingerprint(client.cert_pem));
}

TEST(TlsHandshake, AServerWithAnotherKeyIsRefusedEvenUnderTheSameName) {
  const Identity pinned = NewIdentity("taskfs-server", {"127.0.0.1"});
  const Identity impostor = NewIdentity("taskfs-server", {"127.0.0.1"});
  const Identity client = NewIdentity("ada");
  Outcome o =
      Handshake(impostor, Fingerprint(pinned.cert_pem), client, Fingerprint(client.cert_pem));
  EXPECT_FALSE(o.client_done);
  EXPECT_FALSE(o.server_done);
  EXPECT_TRUE(o.server_got.empty());
  EXPECT_EQ(o.client_pin.seen, Fingerprint(impostor.cert_pem));
  // The client gave up before it showed its own certificate.
  EXPECT_TRUE(o.server_pin.seen.empty());
}

TEST(TlsHandshake, AServerCertificateReissuedForThePinnedKeyIsAccepted) {
  TempDir dir;
  const Identity server = NewIdentity("taskfs-server");
  WriteFile(dir / "server.key", server.key_pem);
  Shell("openssl req -new -x509 -key " + Quote(dir / "server.key") +
        " -subj /CN=renamed -days 2 -out " + Quote(dir / "server.crt") + " 2>&1");
  const Identity reissued{server.key_pem, ReadFile(dir / "server.crt")};
  const Identity client = NewIdentity("ada");
  Outcome o =
      Handshake(reissued, Fingerprint(server.cert_pem), client, Fingerprint(client.cert_pem));
  EXPECT_TRUE(o.client_done);
  EXPECT_TRUE(o.server_done);
  EXPECT_EQ(o.server_got, "ping");
}

TEST(TlsHandshake, AClientWithAnotherKeyIsRefusedByTheServer) {
  const Identity server = NewIdentity("taskfs-server");
  const Identity registered = NewIdentity("ada");
  const Identity stranger = NewIdentity("ada");
  Outcome o =
      Handshake(server, Fingerprint(server.cert_pem), stranger, Fingerprint(registered.cert_pem));
  EXPECT_FALSE(o.server_done);
  EXPECT_TRUE(o.server_got.empty());
  EXPECT_EQ(o.server_pin.seen, Fingerprint(stranger.cert_pem));
  // TLS 1.3: the client's side is done before the server judges its certificate; the client
  // learns of the refusal when it reads.
  EXPECT_TRUE(o.client_done);
  EXPECT_TRUE(o.client_read_failed) << "the client never heard it was refused";
}

}  // namespace
}  // namespace taskfs::sync
