#pragma once
// OpenSSL objects owned by std::unique_ptr: the JWS code of the signed
// assertions and of the JWK Sets.

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>

namespace sessiond::service::ossl {

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct bn_free {
    void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct sig_free {
    void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;
using sig_ptr = std::unique_ptr<ECDSA_SIG, sig_free>;

}  // namespace sessiond::service::ossl
