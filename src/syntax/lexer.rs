//! Equation lexer (placeholder; being written).
