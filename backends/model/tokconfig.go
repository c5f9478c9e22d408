package model

import (
	"encoding/json"
	"fmt"
	"os"
)

// loadTokenizerConfig reads add_bos_token and chat_template from a
// tokenizer_config.json, when present. Without the file (or the key), BOS is
// added for Llama, Mistral and MiniCPM models that have a BOS id, as their
// tokenizers do, and not for Qwen2, whose tokenizer adds none.
func (m *Model) loadTokenizerConfig(path string) error {
	m.AddBOS = m.Cfg.BOS >= 0 && m.Cfg.Arch != Qwen2
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.parseTokenizerConfig(data, path)
}

func (m *Model) parseTokenizerConfig(data []byte, path string) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s: not a JSON object: %v", path, err)
	}
	if v, ok := raw["add_bos_token"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &m.AddBOS); err != nil {
			return fmt.Errorf("%s: add_bos_token: want true or false, got %s", path, trim(v))
		}
		if m.AddBOS && m.Cfg.BOS < 0 {
			return fmt.Errorf("%s: add_bos_token is true but the config has no bos_token_id", path)
		}
	}
	if v, ok := raw["chat_template"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &m.ChatTemplate); err != nil {
			// A list of named templates: keep the raw JSON; the chat
			// package resolves it.
			m.ChatTemplate = string(v)
		}
	}
	return nil
}
