package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Requests.

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	MaxTokens     *int            `json:"max_tokens"`
	Stop          json.RawMessage `json:"stop"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	Echo          bool            `json:"echo"`
	Logprobs      *int            `json:"logprobs"`
	Temperature   *float64        `json:"temperature"`
	N             *int            `json:"n"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Temperature         *float64        `json:"temperature"`
	N                   *int            `json:"n"`
	Logprobs            *bool           `json:"logprobs"`
}

type tokenizeRequest struct {
	Model            string        `json:"model"`
	Prompt           *string       `json:"prompt"`
	Content          *string       `json:"content"` // llama.cpp's name for it
	Messages         []chatMessage `json:"messages"`
	AddSpecialTokens *bool         `json:"add_special_tokens"`
}

// badRequest is a client error with its message.
type badRequest struct {
	status int
	msg    string
}

func (e *badRequest) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &badRequest{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// parsePromptField reads a completions prompt: a string, or a list holding
// one string.
func parsePromptField(raw json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", invalid("prompt: required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil && len(list) == 1 {
		return list[0], nil
	}
	return "", invalid("prompt: want a string (or a list of one string); batches and token-id prompts are not supported")
}

// parseStop reads stop: absent, null, a string or a list of strings.
// Empty strings are dropped.
func parseStop(raw json.RawMessage) ([]string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(t, &s); err == nil {
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(t, &list); err != nil {
		return nil, invalid("stop: want a string or a list of strings")
	}
	out := list[:0]
	for _, x := range list {
		if x != "" {
			out = append(out, x)
		}
	}
	return out, nil
}

// chatPrompt turns messages into the prompt: the text of each message,
// joined by a blank line (a single message is its text unchanged). Roles
// are not rendered: the model applies its own template.
func chatPrompt(msgs []chatMessage) (string, error) {
	if len(msgs) == 0 {
		return "", invalid("messages: required, at least one")
	}
	parts := make([]string, 0, len(msgs))
	for i, m := range msgs {
		text, err := messageText(m.Content)
		if err != nil {
			return "", invalid("messages[%d].content: %v", i, err)
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "\n\n"), nil
}

func messageText(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(t, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(t, &parts); err != nil {
		return "", errors.New("want a string or a list of text parts")
	}
	var sb strings.Builder
	for j, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", fmt.Errorf("part %d has type %q: only text parts are supported", j, p.Type)
		}
		sb.WriteString(*p.Text)
	}
	return sb.String(), nil
}

// checkCommon validates the fields that both generation endpoints share.
func (s *Server) checkCommon(model string, temperature *float64, n *int) error {
	if model != "" && model != s.opts.ModelName {
		return &badRequest{http.StatusNotFound, fmt.Sprintf("model %q does not exist; this server has %q", model, s.opts.ModelName)}
	}
	if temperature != nil && *temperature != 0 {
		return invalid("temperature %g: this server decodes greedily only; send 0 or leave it out", *temperature)
	}
	if n != nil && *n != 1 {
		return invalid("n %d: this server returns one choice", *n)
	}
	return nil
}

func (s *Server) maxTokens(v ...*int) (int, error) {
	for _, p := range v {
		if p != nil {
			if *p < 0 {
				return 0, invalid("max_tokens %d: want 0 or more", *p)
			}
			return *p, nil
		}
	}
	return s.opts.DefaultMaxTokens, nil
}

// Responses.

type usageWire struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func newUsage(prompt, completion int) *usageWire {
	return &usageWire{prompt, completion, prompt + completion}
}

type logprobsWire struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionChoice struct {
	Index        int           `json:"index"`
	Text         string        `json:"text"`
	Logprobs     *logprobsWire `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usageWire         `json:"usage,omitempty"`
}

type chatMessageOut struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      *chatMessageOut `json:"message,omitempty"`
	Delta        *chatDelta      `json:"delta,omitempty"`
	FinishReason *string         `json:"finish_reason"`
}

type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usageWire   `json:"usage,omitempty"`
}

// errorBody is OpenAI's error shape.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func newErrorBody(status int, msg string) errorBody {
	typ := "invalid_request_error"
	var code *string
	switch {
	case status == http.StatusNotFound && strings.HasPrefix(msg, "model "):
		c := "model_not_found"
		code = &c
	case status == http.StatusServiceUnavailable:
		typ = "server_overloaded"
	case status >= 500:
		typ = "server_error"
	}
	return errorBody{errorObject{Message: msg, Type: typ, Code: code}}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, newErrorBody(status, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(newErrorBody(status, "encoding the response: "+err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeErr writes err as a response: a badRequest with its status, a
// MaxBytesError as 413, anything else as 500.
func writeErr(w http.ResponseWriter, err error) {
	var br *badRequest
	if errors.As(err, &br) {
		writeError(w, br.status, br.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

// decode reads a JSON body within the size limit.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	tooLarge := &badRequest{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.opts.MaxRequestBytes)}
	if r.ContentLength > s.opts.MaxRequestBytes {
		return tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge
		}
		return invalid("reading the request body: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return invalid("request body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

// sseWriter writes server-sent events, flushing each.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (s *sseWriter) data(b []byte) error {
	if s.err != nil {
		return s.err
	}
	var buf bytes.Buffer
	buf.Grow(len(b) + 8)
	buf.WriteString("data: ")
	buf.Write(b)
	buf.WriteString("\n\n")
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}

func (s *sseWriter) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.data(b)
}

func (s *sseWriter) done() error { return s.data([]byte("[DONE]")) }
