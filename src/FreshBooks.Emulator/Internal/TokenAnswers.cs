using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// Writes a 200 token answer: the usual JSON, or one of the <see cref="TokenAnswerShape"/>s. Written field by
/// field with <see cref="Utf8JsonWriter"/> because some shapes are not what a serializer would produce
/// (<c>43200.0</c>, a number as a string, padded strings).
/// </summary>
internal static class TokenAnswers
{
    private const string JsonContentType = "application/json; charset=utf-8";

    public static Task WriteAsync(HttpContext context, TokenIssued issued, TokenAnswerShape? shape)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        if (shape == TokenAnswerShape.NotJson)
        {
            // A proxy's or gateway's page instead of the answer: the pair was issued, the client never sees it.
            response.ContentType = "text/html; charset=utf-8";
            return response.WriteAsync(
                "<!DOCTYPE html>\n<html><head><title>FreshBooks</title></head><body><h1>Thanks for waiting</h1><p>We're getting things ready.</p></body></html>\n",
                context.RequestAborted);
        }

        var body = Body(issued, shape);
        switch (shape)
        {
            case TokenAnswerShape.UnknownCharset:
                response.ContentType = "application/json; charset=foo-unknown";
                break;
            case TokenAnswerShape.NoContentType:
                break; // Kestrel sends no Content-Type when none is set
            default:
                response.ContentType = JsonContentType;
                break;
        }

        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>The JSON body for <paramref name="shape"/> (null: the usual one).</summary>
    public static byte[] Body(TokenIssued issued, TokenAnswerShape? shape)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            var padded = shape == TokenAnswerShape.PaddedTokens;
            json.WriteString("access_token", padded ? $"  {issued.AccessToken} \n" : issued.AccessToken);
            switch (shape)
            {
                case TokenAnswerShape.TokenTypeMissing:
                    break;
                case TokenAnswerShape.TokenTypeLowercase:
                    json.WriteString("token_type", "bearer");
                    break;
                case TokenAnswerShape.TokenTypeOther:
                    json.WriteString("token_type", "mac");
                    break;
                default:
                    json.WriteString("token_type", "Bearer");
                    break;
            }

            WriteExpiresIn(json, issued.ExpiresIn, shape);
            if (shape != TokenAnswerShape.RefreshTokenMissing)
            {
                json.WriteString("refresh_token", padded ? $" {issued.RefreshToken}\n " : issued.RefreshToken);
            }

            if (shape != TokenAnswerShape.ScopeMissing)
            {
                json.WriteString("scope", issued.Scope);
            }

            WriteCreatedAt(json, issued, shape);
            json.WriteStartObject("direct_buy_tokens");
            json.WriteEndObject();
            if (shape == TokenAnswerShape.ExtraFields)
            {
                WriteExtraFields(json);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteExpiresIn(Utf8JsonWriter json, long expiresIn, TokenAnswerShape? shape)
    {
        switch (shape)
        {
            case TokenAnswerShape.ExpiresInMissing:
                return;
            case TokenAnswerShape.ExpiresInNull:
                json.WriteNull("expires_in");
                return;
            case TokenAnswerShape.ExpiresInZero:
                json.WriteNumber("expires_in", 0);
                return;
            case TokenAnswerShape.ExpiresInDecimal:
                json.WritePropertyName("expires_in");
                json.WriteRawValue(expiresIn.ToString(CultureInfo.InvariantCulture) + ".0");
                return;
            case TokenAnswerShape.ExpiresInString:
                json.WriteString("expires_in", expiresIn.ToString(CultureInfo.InvariantCulture));
                return;
            case TokenAnswerShape.ExpiresInHuge:
                json.WriteNumber("expires_in", 99_999_999_999_999L);
                return;
            case TokenAnswerShape.ExpiresInNegative:
                json.WriteNumber("expires_in", -1);
                return;
            default:
                json.WriteNumber("expires_in", expiresIn);
                return;
        }
    }

    private static void WriteCreatedAt(Utf8JsonWriter json, TokenIssued issued, TokenAnswerShape? shape)
    {
        switch (shape)
        {
            case TokenAnswerShape.CreatedAtMissing:
                return;
            case TokenAnswerShape.OriginalCreatedAt:
                json.WriteNumber("created_at", issued.GrantCreatedAt.ToUnixTimeSeconds());
                return;
            case TokenAnswerShape.CreatedAtMilliseconds:
                json.WriteNumber("created_at", issued.IssuedAt.ToUnixTimeMilliseconds());
                return;
            case TokenAnswerShape.CreatedAtFuture:
                json.WriteNumber("created_at", issued.IssuedAt.AddHours(1).ToUnixTimeSeconds());
                return;
            case TokenAnswerShape.CreatedAtString:
                json.WriteString("created_at", issued.IssuedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
                return;
            default:
                json.WriteNumber("created_at", issued.CreatedAt);
                return;
        }
    }

    /// <summary>Fields no client knows, of every JSON kind, some of them named like ones it does know.</summary>
    private static void WriteExtraFields(Utf8JsonWriter json)
    {
        json.WriteStartObject("resource_owner");
        json.WriteNumber("id", 1843);
        json.WriteStartArray("roles");
        json.WriteStringValue("admin");
        json.WriteNullValue();
        json.WriteEndArray();
        json.WriteStartObject("token");
        json.WriteNumber("expires_in", 1);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartArray("accounts");
        json.WriteStartObject();
        json.WriteString("account_id", "AEL001");
        json.WriteBoolean("primary", true);
        json.WriteEndObject();
        json.WriteNumberValue(3.5);
        json.WriteStringValue("caf\u00e9 \u2603");
        json.WriteEndArray();
        json.WriteNull("id_token");
        json.WriteBoolean("mfa_required", false);
        json.WriteNumber("version", 2);
    }
}
