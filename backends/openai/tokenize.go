package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

// Server tokenization styles, found on first use in chat mode.
const (
	vllmStyle  = 1 // POST /tokenize {"model", "messages", "add_generation_prompt"}
	llamaStyle = 2 // POST /apply-template {"messages"}, then POST /tokenize {"content"}
)

// serverTokenize asks the server for the ids of prompt, at {root}/tokenize
// where root is the base URL without its /v1.
//
// In completions mode one request serves both known dialects: its body
// carries vLLM's fields ("prompt", "add_special_tokens": true) and
// llama.cpp's ("content", "add_special": true); each server reads its own
// and ignores the others. In chat mode the ids must include the chat
// template: vLLM tokenizes "messages" with the generation prompt; a server
// that answers that with an error or with no ids (llama.cpp reads no
// "messages") is asked in llama.cpp's way instead: /apply-template, then
// /tokenize of the templated text with special tokens added and parsed, as
// its chat endpoint does. The dialect that worked is remembered.
func (c *Client) serverTokenize(ctx context.Context, prompt string) ([]int, error) {
	model, err := c.modelName(ctx)
	if err != nil {
		return nil, err
	}
	if c.opts.API != "chat" {
		ids, _, err := c.postTokenize(ctx, map[string]any{
			"model": model, "prompt": prompt, "add_special_tokens": true,
			"content": prompt, "add_special": true,
		}, nil)
		return ids, err
	}
	msgs := []map[string]string{{"role": "user", "content": prompt}}
	style := c.chatTokStyle.Load()
	if style != llamaStyle {
		clientError := func(status int) bool { return status >= 400 && status < 500 && status != 408 && status != 429 }
		ids, ok, err := c.postTokenize(ctx, map[string]any{"model": model, "messages": msgs, "add_generation_prompt": true}, clientError)
		if err == nil && ok && len(ids) > 0 {
			c.chatTokStyle.Store(vllmStyle)
			return ids, nil
		}
		var e *Error
		if style == vllmStyle || (err != nil && !(errors.As(err, &e) && clientError(e.Status))) {
			if err == nil {
				err = errors.New("openai tokenize: the server returned no ids for the chat messages")
			}
			return nil, err
		}
	}
	var templated string
	err = c.do(ctx, &call{op: "tokenize", method: http.MethodPost, path: "/apply-template", fromRoot: true,
		body: mustJSON(map[string]any{"messages": msgs}),
		handle: func(resp *http.Response, _ time.Time) error {
			b, err := c.readBody(resp.Body)
			if err != nil {
				return err
			}
			templated, err = parsePrompt(b)
			if err != nil {
				return bodyError(err, b)
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("%w (the server's /tokenize did not take chat messages, and applying its chat template failed)", err)
	}
	ids, _, err := c.postTokenize(ctx, map[string]any{"content": templated, "add_special": true, "parse_special": true}, nil)
	if err != nil {
		return nil, err
	}
	c.chatTokStyle.Store(llamaStyle)
	return ids, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers are encoded
	}
	return b
}

// postTokenize posts fields to {root}/tokenize and reads the ids; ok is
// false when the response had no "tokens" list.
func (c *Client) postTokenize(ctx context.Context, fields map[string]any, pass func(int) bool) (ids []int, ok bool, err error) {
	err = c.do(ctx, &call{op: "tokenize", method: http.MethodPost, path: "/tokenize", fromRoot: true, body: mustJSON(fields), passStatus: pass,
		handle: func(resp *http.Response, _ time.Time) error {
			b, err := c.readBody(resp.Body)
			if err != nil {
				return err
			}
			ids, ok, err = parseTokens(b)
			if err != nil {
				return bodyError(err, b)
			}
			if !ok && pass == nil {
				return bodyError(errors.New(`the response has no "tokens" list`), b)
			}
			return nil
		}})
	return ids, ok, err
}

// loadTokenizer loads a local tokenizer.json and the special tokens to put
// around the text: bos "none" adds none, a token string puts that token
// first, "auto" reads the file's post-processor.
func loadTokenizer(path, bos string) (tok *tokenizer.Tokenizer, prefix, suffix []int, err error) {
	tok, err = tokenizer.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	switch bos {
	case "none":
		return tok, nil, nil, nil
	case "auto":
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, nil, err
		}
		prefix, suffix, err = postProcessorTokens(raw, tok)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: post_processor: %v", path, err)
		}
		return tok, prefix, suffix, nil
	}
	id, ok := tok.TokenID(bos)
	if !ok {
		return nil, nil, nil, fmt.Errorf("bos %q is not a token of %s; accepted: auto, none or a token of the vocabulary", bos, path)
	}
	return tok, []int{id}, nil, nil
}

// postProcessorTokens returns the special tokens that a tokenizer.json's
// post-processor adds to a single sequence, before and after it: the
// TemplateProcessing "single" template (Llama, Mistral), BERT/RoBERTa
// cls and sep, and each member of a Sequence. Other processors (ByteLevel)
// add nothing.
func postProcessorTokens(raw []byte, tok *tokenizer.Tokenizer) (prefix, suffix []int, err error) {
	var f struct {
		PostProcessor json.RawMessage `json:"post_processor"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, nil, err
	}
	var walk func(m json.RawMessage, depth int) error
	walk = func(m json.RawMessage, depth int) error {
		if !present(m) {
			return nil
		}
		if depth > 8 {
			return errors.New("nested too deep")
		}
		var p struct {
			Type   string `json:"type"`
			Single []map[string]struct {
				ID string `json:"id"`
			} `json:"single"`
			SpecialTokens map[string]struct {
				IDs []int `json:"ids"`
			} `json:"special_tokens"`
			Processors []json.RawMessage `json:"processors"`
			Cls        []json.RawMessage `json:"cls"`
			Sep        []json.RawMessage `json:"sep"`
		}
		if err := json.Unmarshal(m, &p); err != nil {
			return err
		}
		switch p.Type {
		case "TemplateProcessing":
			after := false
			for _, item := range p.Single {
				if _, ok := item["Sequence"]; ok {
					after = true
					continue
				}
				st, ok := item["SpecialToken"]
				if !ok {
					continue
				}
				ids := p.SpecialTokens[st.ID].IDs
				if len(ids) == 0 {
					id, ok := tok.TokenID(st.ID)
					if !ok {
						return fmt.Errorf("special token %q is not in the vocabulary", st.ID)
					}
					ids = []int{id}
				}
				if after {
					suffix = append(suffix, ids...)
				} else {
					prefix = append(prefix, ids...)
				}
			}
		case "BertProcessing", "RobertaProcessing":
			for i, pair := range [][]json.RawMessage{p.Cls, p.Sep} {
				if len(pair) != 2 {
					continue
				}
				var id int
				if err := json.Unmarshal(pair[1], &id); err != nil {
					return fmt.Errorf("%s: cls/sep: %v", p.Type, err)
				}
				if i == 0 {
					prefix = append(prefix, id)
				} else {
					suffix = append(suffix, id)
				}
			}
		case "Sequence":
			for _, q := range p.Processors {
				if err := walk(q, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(f.PostProcessor, 0); err != nil {
		return nil, nil, err
	}
	return prefix, suffix, nil
}
