// Package lm defines the capability of backends that run a language model on
// text: the native runtime (backends/model), remote OpenAI-compatible servers
// (backends/openai) and anything else that can tokenize, generate and score.
// Tasks that need a model (needle, retrieval, QA, perplexity) talk to a
// backend only through Model, found by type assertion on backends.Backend.
//
// Prompts are plain text. The backend owns the prompt template (plain, or the
// model's chat template) and the special tokens (BOS), so Tokenize returns
// exactly the ids the model will see for a prompt; tasks fit their prompts to
// a target length with it.
package lm

import (
	"context"
	"time"

	"github.com/evalctl/evalctl/backends/attention"
)

// Model is the text-model capability.
type Model interface {
	// Tokenize returns the ids the model sees for prompt: template and
	// special tokens included, exactly as Generate would feed them.
	Tokenize(ctx context.Context, prompt string) ([]int, error)
	// Generate runs greedy generation.
	Generate(ctx context.Context, req *GenerateRequest) (*GenerateResponse, error)
	// Loglikelihood scores Continuation given Context (no template: the
	// context is tokenized as raw text after the BOS token, when the model
	// has one, and the continuation's tokens follow it).
	Loglikelihood(ctx context.Context, req *LoglikelihoodRequest) (*LoglikelihoodResponse, error)
}

// GenerateRequest asks for a greedy completion of Prompt.
type GenerateRequest struct {
	Prompt    string
	MaxTokens int      // tokens to generate at most (>= 1)
	Stop      []string // generation ends before the first occurrence of any
}

// GenerateResponse is a completion and what it cost.
type GenerateResponse struct {
	Text         string // the completion, cut before a stop string
	PromptTokens int
	OutputTokens int
	// FinishReason is "stop" (a stop string or end-of-sequence token) or
	// "length" (MaxTokens reached).
	FinishReason string
	Timing       Timing
}

// LoglikelihoodRequest scores a continuation.
type LoglikelihoodRequest struct {
	Context      string
	Continuation string
	// TokenLogprobs asks for the log-probability of every continuation
	// token (perplexity), not only the sum.
	TokenLogprobs bool
}

// LoglikelihoodResponse holds natural-log probabilities.
type LoglikelihoodResponse struct {
	Logprob       float64   // sum over the continuation's tokens
	Greedy        bool      // every continuation token was the argmax
	ContextTokens int       // tokens before the continuation, BOS included
	Tokens        int       // continuation tokens
	TokenLogprobs []float64 // per continuation token, when asked
	Timing        Timing
}

// Timing is what a backend measured for one request. Fields a backend cannot
// measure stay zero (a remote server has no attention statistics).
type Timing struct {
	Tokenize time.Duration
	// Prefill is the time to the first generated token (native: the
	// prefill forward pass; remote: the first streamed byte of output).
	Prefill time.Duration
	// Decode holds the time of every later token, in order.
	Decode []time.Duration
	// Total is the whole request, wall clock.
	Total time.Duration
	// PeakKVBytes is the largest KV cache size reached (derived state such
	// as compressed keys included), summed over layers.
	PeakKVBytes int64
	// PeakDeviceBytes is the most accelerator memory the request held
	// (weights, caches and scratch: the allocator's peak during the
	// request); 0 when there is no accelerator (the CPU backends).
	PeakDeviceBytes int64
	// Attention aggregates the attention statistics of every layer and
	// call: prefill and decode separately.
	PrefillAttention, DecodeAttention *attention.Stats
}
