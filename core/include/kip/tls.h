/* SPDX-License-Identifier: Apache-2.0
 * Everything behind `require "kip.tls"`, for C callers that want it in one include: digests, HMAC
 * and random bytes (kip/crypto.h), base64 and hex (kip/encoding.h), keys (kip/key.h) and X.509
 * certificates (kip/cert.h). The SSL_CTX factory (core/src/net/tls.c) will be declared here. */
#pragma once

#include "kip/cert.h"
#include "kip/crypto.h"
#include "kip/encoding.h"
#include "kip/kdf.h"
#include "kip/key.h"
