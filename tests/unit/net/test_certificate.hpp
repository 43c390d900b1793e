// A self-signed certificate for "localhost" (EC P-256) and its key, made at run time and
// written as PEM files in the temp directory; removed when the object goes.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

namespace lsr::test {

class TestCertificate {
  public:
    TestCertificate() {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* cert = X509_new();
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
        X509_set_issuer_name(cert, name);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
        for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                                  std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
            X509_add_ext(cert, ext, -1);
            X509_EXTENSION_free(ext);
        }
        X509_sign(cert, key, EVP_sha256());
        static int counter = 0;
        const auto base = std::filesystem::temp_directory_path() /
                          ("lsr-net-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        cert_file_ = base.string() + "-cert.pem";
        key_file_ = base.string() + "-key.pem";
        if (FILE* f = std::fopen(cert_file_.c_str(), "w")) {
            PEM_write_X509(f, cert);
            std::fclose(f);
        }
        if (FILE* f = std::fopen(key_file_.c_str(), "w")) {
            PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
            std::fclose(f);
        }
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    ~TestCertificate() {
        std::error_code ec;
        std::filesystem::remove(cert_file_, ec);
        std::filesystem::remove(key_file_, ec);
    }
    TestCertificate(const TestCertificate&) = delete;
    TestCertificate& operator=(const TestCertificate&) = delete;

    const std::string& cert_file() const { return cert_file_; }  // also the CA file that trusts it
    const std::string& key_file() const { return key_file_; }

  private:
    std::string cert_file_;
    std::string key_file_;
};

}  // namespace lsr::test
