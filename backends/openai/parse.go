package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the parsers of what servers send: whole JSON responses
// (completions, chat completions, models, tokenize), the chunks of a stream,
// and the server-sent-events framing around them. They are plain functions
// over bytes, fuzzed, and never panic.

// usage is the token accounting of a response.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// logprobs is the legacy completions log-probability block.
type logprobs struct {
	Tokens        []string              `json:"tokens"`
	TokenLogprobs []*float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]*float64 `json:"top_logprobs"`
	TextOffset    []int                 `json:"text_offset"`
	// present records which fields the server sent (null or absent fields
	// are told apart from empty lists for error messages).
	hasTokenLogprobs, hasTextOffset, hasTopLogprobs bool
}

func (l *logprobs) UnmarshalJSON(b []byte) error {
	var raw struct {
		Tokens        []string        `json:"tokens"`
		TokenLogprobs json.RawMessage `json:"token_logprobs"`
		TopLogprobs   json.RawMessage `json:"top_logprobs"`
		TextOffset    json.RawMessage `json:"text_offset"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	l.Tokens = raw.Tokens
	if present(raw.TokenLogprobs) {
		l.hasTokenLogprobs = true
		if err := json.Unmarshal(raw.TokenLogprobs, &l.TokenLogprobs); err != nil {
			return fmt.Errorf("token_logprobs: %w", err)
		}
	}
	if present(raw.TextOffset) {
		l.hasTextOffset = true
		if err := json.Unmarshal(raw.TextOffset, &l.TextOffset); err != nil {
			return fmt.Errorf("text_offset: %w", err)
		}
	}
	if present(raw.TopLogprobs) {
		l.hasTopLogprobs = true
		if err := json.Unmarshal(raw.TopLogprobs, &l.TopLogprobs); err != nil {
			return fmt.Errorf("top_logprobs: %w", err)
		}
	}
	return nil
}

func present(m json.RawMessage) bool {
	t := bytes.TrimSpace(m)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// apiError is the error object of an OpenAI-style error body, also sent
// inside streams by some servers.
type apiError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// completion is what one choice of a response (or one stream chunk) says,
// for both APIs.
type completion struct {
	Text         string
	FinishReason string
	Usage        *usage
	Logprobs     *logprobs // completions API only
	// HasChoice is false for chunks without choices (the usage chunk).
	HasChoice bool
}

type completionWire struct {
	Choices []struct {
		Text         *string   `json:"text"`
		FinishReason *string   `json:"finish_reason"`
		Logprobs     *logprobs `json:"logprobs"`
	} `json:"choices"`
	Usage *usage    `json:"usage"`
	Error *apiError `json:"error"`
}

type chatWire struct {
	Choices []struct {
		Message *struct {
			Content *string `json:"content"`
		} `json:"message"`
		Delta *struct {
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage    `json:"usage"`
	Error *apiError `json:"error"`
}

// serverError is an error object the server sent in place of a result.
type serverError struct{ e apiError }

func (s *serverError) Error() string {
	msg := s.e.Message
	if msg == "" {
		msg = "(no message)"
	}
	if s.e.Type != "" {
		return "server error (" + s.e.Type + "): " + msg
	}
	return "server error: " + msg
}

// errNoChoices is returned for a complete response without choices.
var errNoChoices = errors.New("response has no choices")

// parseCompletion parses a /v1/completions response body. A body holding
// an error object returns a *serverError.
func parseCompletion(body []byte) (*completion, error) {
	c, err := parseCompletionChunk(body)
	if err != nil {
		return nil, err
	}
	if !c.HasChoice {
		return nil, errNoChoices
	}
	return c, nil
}

// parseCompletionChunk parses one completions stream chunk (the same shape
// as a whole response; a chunk may lack choices).
func parseCompletionChunk(body []byte) (*completion, error) {
	var w completionWire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if w.Error != nil {
		return nil, &serverError{*w.Error}
	}
	c := &completion{Usage: w.Usage}
	if len(w.Choices) > 0 {
		ch := w.Choices[0]
		c.HasChoice = true
		if ch.Text != nil {
			c.Text = *ch.Text
		}
		if ch.FinishReason != nil {
			c.FinishReason = *ch.FinishReason
		}
		c.Logprobs = ch.Logprobs
	}
	return c, nil
}

// parseChat parses a /v1/chat/completions response body.
func parseChat(body []byte) (*completion, error) {
	c, err := parseChatWire(body, false)
	if err != nil {
		return nil, err
	}
	if !c.HasChoice {
		return nil, errNoChoices
	}
	return c, nil
}

// parseChatChunk parses one chat stream chunk (choices carry a delta).
func parseChatChunk(body []byte) (*completion, error) { return parseChatWire(body, true) }

func parseChatWire(body []byte, delta bool) (*completion, error) {
	var w chatWire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if w.Error != nil {
		return nil, &serverError{*w.Error}
	}
	c := &completion{Usage: w.Usage}
	if len(w.Choices) > 0 {
		ch := w.Choices[0]
		c.HasChoice = true
		m := ch.Message
		if delta {
			m = ch.Delta
		}
		if m != nil && m.Content != nil {
			c.Text = *m.Content
		}
		if ch.FinishReason != nil {
			c.FinishReason = *ch.FinishReason
		}
	}
	return c, nil
}

// parseModels returns the ids of a GET /v1/models response.
func parseModels(body []byte) ([]string, error) {
	var w struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if w.Error != nil {
		return nil, &serverError{*w.Error}
	}
	var ids []string
	for _, d := range w.Data {
		if d.ID != "" {
			ids = append(ids, d.ID)
		}
	}
	return ids, nil
}

// parseTokens reads the token ids of a tokenize response: vLLM's
// {"tokens": [ids], "count": n}, llama.cpp's {"tokens": [ids]} or, with
// pieces, {"tokens": [{"id": n, "piece": ...}]}. ok is false when the body
// has no "tokens" list at all.
func parseTokens(body []byte) (ids []int, ok bool, err error) {
	var w struct {
		Tokens []json.RawMessage `json:"tokens"`
		Error  *apiError         `json:"error"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, false, fmt.Errorf("malformed JSON: %w", err)
	}
	if w.Error != nil {
		return nil, false, &serverError{*w.Error}
	}
	if w.Tokens == nil {
		return nil, false, nil
	}
	ids = make([]int, 0, len(w.Tokens))
	for i, raw := range w.Tokens {
		var id int
		if err := json.Unmarshal(raw, &id); err != nil {
			var obj struct {
				ID *int `json:"id"`
			}
			if err2 := json.Unmarshal(raw, &obj); err2 != nil || obj.ID == nil {
				return nil, true, fmt.Errorf("tokens[%d]: not a token id: %s", i, snippet(raw, 40))
			}
			id = *obj.ID
		}
		ids = append(ids, id)
	}
	return ids, true, nil
}

// parsePrompt reads llama.cpp's /apply-template response {"prompt": "..."}.
func parsePrompt(body []byte) (string, error) {
	var w struct {
		Prompt *string   `json:"prompt"`
		Error  *apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return "", fmt.Errorf("malformed JSON: %w", err)
	}
	if w.Error != nil {
		return "", &serverError{*w.Error}
	}
	if w.Prompt == nil {
		return "", errors.New(`response has no "prompt"`)
	}
	return *w.Prompt, nil
}

// sseReader reads the data of server-sent events (the text/event-stream
// format): a leading byte order mark is skipped; "data:" lines (one optional space after the colon) accumulate,
// joined by "\n", and an empty line dispatches the event; lines starting
// with ":" are comments; other fields (event, id, retry) are ignored. Lines
// end with LF, CRLF or a lone CR. An event left without its closing empty
// line at the end of the stream is dropped, as the format says, so a
// stream cut in the middle of an event is seen as cut.
type sseReader struct {
	r       *bufio.Reader
	max     int // longest line and longest event data
	line    []byte
	data    []byte
	hasData bool
	skipLF  bool // the last line ended with CR: a following LF belongs to it
	started bool
}

// errEventTooLong reports a line or event larger than the limit.
var errEventTooLong = errors.New("server-sent event larger than the limit")

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the data of the next event. At the end of the stream it
// returns io.EOF; a read error is returned as is.
func (s *sseReader) Next() ([]byte, error) {
	if !s.started {
		s.started = true
		if b, err := s.r.Peek(3); err == nil && string(b) == "\uFEFF" {
			s.r.Discard(3) // a leading byte order mark is not part of the stream
		}
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			if s.hasData {
				d := s.data
				s.data, s.hasData = nil, false
				return d, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			continue
		}
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		s.hasData = true
		if len(s.data) > s.max {
			return nil, errEventTooLong
		}
	}
}

// readLine returns the next line without its terminator. The returned
// slice is valid until the next call.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(s.line) > 0 {
				// A last line without terminator is still a line; the
				// event it may complete lacks its empty line and is dropped
				// by the caller at the next EOF.
				return s.line, nil
			}
			return nil, err
		}
		if s.skipLF {
			s.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return s.line, nil
		case '\r':
			s.skipLF = true
			return s.line, nil
		}
		s.line = append(s.line, b)
		if len(s.line) > s.max {
			return nil, errEventTooLong
		}
	}
}

// snippet returns the start of b as printable text: invalid UTF-8 and
// control characters replaced, at most n runes, an ellipsis when cut.
func snippet(b []byte, n int) string {
	var sb strings.Builder
	count := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if count == n {
			sb.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && size <= 1:
			r = '\uFFFD'
		case unicode.IsControl(r):
			r = ' '
		}
		sb.WriteRune(r)
		count++
	}
	return strings.TrimSpace(sb.String())
}
