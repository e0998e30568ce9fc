#pragma once

#include <QByteArrayView>
#include <QString>

#include <memory>

namespace Natter {

/// SHA-256 of a stream of bytes, through OpenSSL (which uses the CPU's SHA
/// instructions: a 2 GB file in about two seconds, where a portable
/// implementation takes twenty). What uploads are checked with on both ends.
class Sha256
{
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;

    void add(QByteArrayView bytes);
    /// 64 lowercase hex digits; the hasher is spent after it.
    QString finish();

    /// The digest of bytes.
    static QString of(QByteArrayView bytes);

private:
    struct Context;
    std::unique_ptr<Context> m_context;
};

} // namespace Natter
