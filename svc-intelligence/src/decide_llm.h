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

#define DECIDE_LLM_NVARS 3
/* LLM_BASE_URL, LLM_MODEL, LLM_TIMEOUT_MS: the daemon's own configuration
 * variables. The key, LLM_API_KEY or LLM_API_KEY_FILE, is read apart
 * (decide_llm.c says why). */
extern const cfg_var decide_llm_vars[DECIDE_LLM_NVARS];

/* When configured: send resp's "reasoning" to the endpoint and, on success,
 * put the answer in "reasoning" and the original in
 * "reasoning_deterministic". c may be NULL (off). */
void decide_llm_rephrase(const cfg *c, json_object *resp);

#endif
