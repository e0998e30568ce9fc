// A file system turned read-only under a running natterd, as the kernel does
// to an ext4 volume after an I/O error (errors=remount-ro): loaded into natterd
// with LD_PRELOAD, it fails every write to files in NATTER_READONLY_DIR with
// EROFS while the file NATTER_READONLY_FLAG exists. A real remount cannot be
// used: the kernel refuses to make a mount read-only while a file on it is
// open for writing (EBUSY), and CI runs as root, for whom permissions do not
// apply. Sockets and every other file are left alone.

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

namespace {

bool readOnlyNow()
{
    const char *flag = std::getenv("NATTER_READONLY_FLAG");
    return flag && ::access(flag, F_OK) == 0;
}

bool isGuardedPath(const char *path)
{
    const char *dir = std::getenv("NATTER_READONLY_DIR");
    if (!dir || !path)
        return false;
    const size_t length = std::strlen(dir);
    return std::strncmp(path, dir, length) == 0 && (path[length] == '/' || path[length] == '\0');
}

bool isGuardedDescriptor(int fd)
{
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char target[PATH_MAX];
    const ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    return isGuardedPath(target);
}

bool refuseDescriptor(int fd)
{
    if (readOnlyNow() && isGuardedDescriptor(fd)) {
        errno = EROFS;
        return true;
    }
    return false;
}

bool refuseOpen(const char *path, int flags)
{
    if ((flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) && readOnlyNow() && isGuardedPath(path)) {
        errno = EROFS;
        return true;
    }
    return false;
}

template<typename Function>
Function next(const char *name)
{
    return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

ssize_t write(int fd, const void *buffer, size_t count)
{
    static const auto real = next<ssize_t (*)(int, const void *, size_t)>("write");
    return refuseDescriptor(fd) ? -1 : real(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset)
{
    static const auto real = next<ssize_t (*)(int, const void *, size_t, off_t)>("pwrite");
    return refuseDescriptor(fd) ? -1 : real(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset)
{
    static const auto real = next<ssize_t (*)(int, const void *, size_t, off64_t)>("pwrite64");
    return refuseDescriptor(fd) ? -1 : real(fd, buffer, count, offset);
}

int ftruncate(int fd, off_t length)
{
    static const auto real = next<int (*)(int, off_t)>("ftruncate");
    return refuseDescriptor(fd) ? -1 : real(fd, length);
}

int ftruncate64(int fd, off64_t length)
{
    static const auto real = next<int (*)(int, off64_t)>("ftruncate64");
    return refuseDescriptor(fd) ? -1 : real(fd, length);
}

int fsync(int fd)
{
    static const auto real = next<int (*)(int)>("fsync");
    return refuseDescriptor(fd) ? -1 : real(fd);
}

int fdatasync(int fd)
{
    static const auto real = next<int (*)(int)>("fdatasync");
    return refuseDescriptor(fd) ? -1 : real(fd);
}

int open(const char *path, int flags, ...)
{
    static const auto real = next<int (*)(const char *, int, ...)>("open");
    va_list arguments;
    va_start(arguments, flags);
    const mode_t mode = (flags & O_CREAT) ? mode_t(va_arg(arguments, int)) : 0;
    va_end(arguments);
    return refuseOpen(path, flags) ? -1 : real(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    static const auto real = next<int (*)(const char *, int, ...)>("open64");
    va_list arguments;
    va_start(arguments, flags);
    const mode_t mode = (flags & O_CREAT) ? mode_t(va_arg(arguments, int)) : 0;
    va_end(arguments);
    return refuseOpen(path, flags) ? -1 : real(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    static const auto real = next<int (*)(int, const char *, int, ...)>("openat");
    va_list arguments;
    va_start(arguments, flags);
    const mode_t mode = (flags & O_CREAT) ? mode_t(va_arg(arguments, int)) : 0;
    va_end(arguments);
    return refuseOpen(path, flags) ? -1 : real(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    static const auto real = next<int (*)(int, const char *, int, ...)>("openat64");
    va_list arguments;
    va_start(arguments, flags);
    const mode_t mode = (flags & O_CREAT) ? mode_t(va_arg(arguments, int)) : 0;
    va_end(arguments);
    return refuseOpen(path, flags) ? -1 : real(dirfd, path, flags, mode);
}

} // extern "C"
