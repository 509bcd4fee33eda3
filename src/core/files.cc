#include "core/files.h"

#include "core/str.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

bool write_file_atomic(const std::string &path, const std::string &data, unsigned mode,
                       std::string *err)
{
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        if (err)
            *err = strprintf("cannot create %s: %s", tmp.c_str(), std::strerror(errno));
        return false;
    }
    const char *p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            close(fd);
            unlink(tmp.c_str());
            if (err)
                *err = strprintf("cannot write %s: %s", tmp.c_str(), std::strerror(e));
            return false;
        }
        p += n;
        left -= size_t(n);
    }
    // fchmod: O_CREAT's mode is filtered by the umask and ignored for an existing file.
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp.c_str());
        if (err)
            *err = strprintf("cannot sync %s: %s", tmp.c_str(), std::strerror(e));
        return false;
    }
    close(fd);
    if (rename(tmp.c_str(), path.c_str()) < 0) {
        int e = errno;
        unlink(tmp.c_str());
        if (err)
            *err = strprintf("cannot rename %s to %s: %s", tmp.c_str(), path.c_str(),
                             std::strerror(e));
        return false;
    }
    return true;
}

bool read_file(const std::string &path, std::string &out, size_t max_bytes, std::string *err)
{
    out.clear();
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err)
            *err = strprintf("cannot open %s: %s", path.c_str(), std::strerror(errno));
        return false;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            if (err)
                *err = strprintf("cannot read %s: %s", path.c_str(), std::strerror(e));
            return false;
        }
        if (n == 0)
            break;
        if (out.size() + size_t(n) > max_bytes) {
            close(fd);
            if (err)
                *err = strprintf("%s is larger than %zu bytes", path.c_str(), max_bytes);
            return false;
        }
        out.append(buf, size_t(n));
    }
    close(fd);
    return true;
}

} // namespace core
