#pragma once

#include <string>
#include <vector>

/// Creates an account and a device token for each email in the natterd
/// database at path (created if missing), so that natterbench's connections
/// sign in with tokens: the cost a returning client pays, without one Argon2id
/// hash per connection. Tokens are benchToken(email). False and a message on
/// stderr if the database cannot be written.
/// passwordEmails get an account with the password benchPassword() instead
/// (their sign-ins cost one Argon2id hash each, on natterd's hashing threads).
bool provisionBenchAccounts(const std::string &path, const std::vector<std::string> &emails,
                            const std::vector<std::string> &passwordEmails = {});

std::string benchPassword();

std::string benchToken(const std::string &email);
