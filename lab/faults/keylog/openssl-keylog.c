/*
 * A TLS key log for programs on OpenSSL that offer none (issue 19): gRPC core
 * 1.51, as Debian's grpcio ships it, links the system's libssl and has no key
 * log in its Python API. Preloaded (LD_PRELOAD), this asks OpenSSL to hand
 * every new connection's secrets to a callback that appends them to the file
 * SSLKEYLOGFILE names, in the NSS key log format the lab's tap and tshark
 * read. OpenSSL calls the callback after it derived each secret; nothing the
 * peers exchange changes.
 *
 * No OpenSSL headers are needed: the two functions are looked up at run time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef void (*keylog_callback)(const SSL *ssl, const char *line);

static void append_line(const SSL *ssl, const char *line) {
  (void)ssl;
  const char *file = getenv("SSLKEYLOGFILE");
  if (file == NULL || *file == '\0') return;
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  /* One write per line: O_APPEND keeps lines of concurrent connections whole. */
  size_t length = strlen(line);
  char buffer[1024];
  if (length + 1 <= sizeof buffer) {
    memcpy(buffer, line, length);
    buffer[length] = '\n';
    ssize_t ignored = write(fd, buffer, length + 1);
    (void)ignored;
  }
  close(fd);
}

/*
 * libssl itself. A Python extension is loaded with RTLD_LOCAL, so the libssl
 * it brings is not in the global scope RTLD_NEXT searches: ask for the loaded
 * library by name (RTLD_NOLOAD: never load another copy).
 */
static void *libssl(void) {
  static void *handle;
  if (handle == NULL) handle = dlopen("libssl.so.3", RTLD_LAZY | RTLD_NOLOAD);
  if (handle == NULL) handle = dlopen("libssl.so.1.1", RTLD_LAZY | RTLD_NOLOAD);
  return handle;
}

SSL *SSL_new(SSL_CTX *ctx) {
  static SSL *(*real_new)(SSL_CTX *);
  static void (*set_callback)(SSL_CTX *, keylog_callback);
  if (real_new == NULL) {
    void *ssl = libssl();
    if (ssl == NULL) abort(); /* No libssl, yet SSL_new was called: nothing sane to do. */
    real_new = (SSL * (*)(SSL_CTX *)) dlsym(ssl, "SSL_new");
    set_callback = (void (*)(SSL_CTX *, keylog_callback))dlsym(ssl, "SSL_CTX_set_keylog_callback");
  }
  if (set_callback != NULL && ctx != NULL) set_callback(ctx, append_line);
  return real_new(ctx);
}
