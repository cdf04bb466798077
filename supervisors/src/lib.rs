//! OTP-style supervision trees on ractor (being written).
