"""The agent under test: prompt variants, the tool-use loop, model providers and cassettes."""
