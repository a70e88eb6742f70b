using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FreshBooksConnect.Functions.Http;

/// <summary>A 302 to <paramref name="location"/>, uncached.</summary>
public sealed class Redirect(Uri location) : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context)
    {
        var response = context.HttpContext.Response;
        SecurityHeaders.Apply(response);
        response.StatusCode = StatusCodes.Status302Found;
        response.Headers.Location = location.AbsoluteUri;
        return Task.CompletedTask;
    }
}
