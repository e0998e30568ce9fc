#pragma once

#include <QString>

/// PRAGMA integrity_check of the SQLite file at path, on a connection of its
/// own, and the full-text index checked against the messages: "ok", or what
/// SQLite found (or why the file could not be read).
QString sqliteIntegrity(const QString &path);
