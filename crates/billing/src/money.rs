//! Amounts for people: minor units in the currency's own decimals.

/// ISO 4217 currencies without minor units.
const ZERO_DECIMALS: [&str; 17] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    "XPF",
];

/// ISO 4217 currencies with three decimals.
const THREE_DECIMALS: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// `283200` USD as `2,832.00 USD`; `500` JPY as `500 JPY`: the currency's
/// decimals, thousands grouped with commas (one way for every reader, as the
/// amount is followed by its ISO code rather than a local symbol).
pub fn format_money(minor: i64, currency: &str) -> String {
    let decimals: u32 = if ZERO_DECIMALS.contains(&currency) {
        0
    } else if THREE_DECIMALS.contains(&currency) {
        3
    } else {
        2
    };
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{} {currency}", grouped(magnitude));
    }
    let unit = 10u64.pow(decimals);
    let width = decimals as usize;
    format!("{sign}{}.{:0width$} {currency}", grouped(magnitude / unit), magnitude % unit)
}

/// `1234567` as `1,234,567`.
fn grouped(whole: u64) -> String {
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A currency code as stored: three ASCII letters, upper case.
pub(crate) fn currency_code(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_decimals() {
        assert_eq!(format_money(29_500, "USD"), "295.00 USD");
        assert_eq!(format_money(283_200, "USD"), "2,832.00 USD");
        assert_eq!(format_money(12_345_678_900, "USD"), "123,456,789.00 USD");
        assert_eq!(format_money(1_000_000, "JPY"), "1,000,000 JPY");
        assert_eq!(format_money(-100_000, "MXN"), "-1,000.00 MXN");
        assert_eq!(format_money(5, "EUR"), "0.05 EUR");
        assert_eq!(format_money(500, "JPY"), "500 JPY");
        assert_eq!(format_money(1_250, "KWD"), "1.250 KWD");
        assert_eq!(format_money(-1_000, "MXN"), "-10.00 MXN");
    }

    #[test]
    fn currency_codes_are_three_letters() {
        assert_eq!(currency_code(" usd "), Some("USD".into()));
        assert_eq!(currency_code("US"), None);
        assert_eq!(currency_code("U$D"), None);
    }
}
