/* decide_llm: the optional rephrasing of a decision's reasoning by an
 * OpenAI-compatible chat endpoint (POST {LLM_BASE_URL}/chat/completions).
 * Prefix decide_llm_. Off unless LLM_BASE_URL is set; on any failure
 * (timeout, error status, an answer without text) the deterministic text
 * stays. The API key is sent as a bearer token and never logged. */
#ifndef INTEL_DECIDE_LLM_H
#define INTEL_DECIDE_LLM_H

#include <stddef.h>

#include <json-c/json.h>

#include "config.h"

/* The daemon's own configuration variables for this (main.c's table):
 * LLM_BASE_URL, LLM_MODEL, LLM_TIMEOUT_MS. The key, LLM_API_KEY or
 * LLM_API_KEY_FILE, is read apart (decide_llm.c says why). */
/* clang-format off */
#define DECIDE_LLM_VARS                                                                       \
    {"LLM_BASE_URL", CFG_STR, NULL, 0, 0, false,                                              \
     "OpenAI-compatible endpoint that rephrases decisions' reasoning (off when unset)"},      \
    {"LLM_MODEL", CFG_STR, "gpt-4o-mini", 0, 0, false, "model asked at LLM_BASE_URL"},        \
    {"LLM_TIMEOUT_MS", CFG_INT, "2000", 100, 30000, false,                                    \
     "how long a rephrasing may take before the deterministic text is kept"}
/* clang-format on */

/* When configured: send resp's "reasoning" to the endpoint and, on success,
 * put the answer in "reasoning" and the original in
 * "reasoning_deterministic". c may be NULL (off). */
void decide_llm_rephrase(const cfg *c, json_object *resp);

#endif
