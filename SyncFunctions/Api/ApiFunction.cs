using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using SyncFunctions.Security;

namespace SyncFunctions.Api;

/// <summary>
/// What every HTTP function of the API does around its own work, the same under both hosts:
/// authenticates the bearer token, scopes the caller to one tenant (<see cref="Caller"/>), reads a
/// JSON body, and turns any failure into problem details, never a stack trace. The work returns an
/// <see cref="IResult"/> (the typed results of ASP.NET Core); the function hands the host an
/// <see cref="IActionResult"/>, which is what the worker's ASP.NET Core integration executes.
/// </summary>
public static partial class ApiFunction
{
    /// <summary>For a caller with a valid token, acting on one tenant.</summary>
    public static async Task<IActionResult> ForCallerAsync(HttpRequest request, Func<Caller, Task<IResult>> work)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(work);
        return await GuardAsync(request, async () =>
        {
            var context = request.HttpContext;
            var authentication = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme).ConfigureAwait(false);
            if (!authentication.Succeeded)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return ApiProblems.Unauthorized;
            }

            context.User = authentication.Principal;
            var caller = Caller.Resolve(context);
            return caller.Problem ?? await work(caller).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>For anyone (health, the dashboard, the document).</summary>
    public static Task<IActionResult> AnonymousAsync(HttpRequest request, Func<Task<IResult>> work) => GuardAsync(request, work);

    /// <summary>
    /// The request's JSON body as <typeparamref name="T"/>, with the API's JSON settings; null when there is
    /// none. A malformed or mistyped body is the client's mistake: a 400 naming each offending field and why.
    /// </summary>
    public static async Task<(T? Body, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Body.CanSeek && request.Headers.ContentType.Count == 0))
        {
            return (null, null);
        }

        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type", detail: "Send the body as application/json."));
        }

        var json = request.HttpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var (body, errors) = await JsonBodyReader.ReadAsync<T>(request.Body, json, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return errors is null ? (body, null) : (null, TypedResults.ValidationProblem(errors));
    }

    private static async Task<IActionResult> GuardAsync(HttpRequest request, Func<Task<IResult>> work)
    {
        try
        {
            var result = await work().ConfigureAwait(false);
            if (result is IStatusCodeHttpResult { StatusCode: >= 400 and < 500 } refused)
            {
                LogClientError(Logger(request), request.Method, request.Path, refused.StatusCode.Value, Explain(result, refused.StatusCode.Value));
            }

            return new HttpResultAction(result);
        }
        catch (BadHttpRequestException e)
        {
            LogClientError(Logger(request), request.Method, request.Path, e.StatusCode, e.Message);
            return new HttpResultAction(TypedResults.Problem(statusCode: e.StatusCode, title: "Bad request", detail: e.Message));
        }
        catch (OperationCanceledException) when (request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return new EmptyResult(); // the client went away
        }
        catch (Azure.RequestFailedException e)
        {
            LogFailed(Logger(request), e, request.Path);
            return new HttpResultAction(ApiProblems.Unavailable("Storage did not answer; nothing was changed. Try again."));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(Logger(request), e, request.Path);
            return new HttpResultAction(TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Internal error",
                detail: "The request failed on the server; it was logged."));
        }
    }

    private static ILogger Logger(HttpRequest request) =>
        request.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiFunction));

    /// <summary>What a client error says in the log: the fields a 400 names, else the problem's title, the conflict's message, or the status's reason phrase.</summary>
    private static string Explain(IResult result, int status) => result switch
    {
        IValueHttpResult { Value: HttpValidationProblemDetails { Errors.Count: > 0 } invalid } => "invalid " + string.Join(", ", invalid.Errors.Keys),
        IValueHttpResult { Value: ProblemDetails { Title: { } title } } => title,
        IValueHttpResult { Value: SyncConflictResponse conflict } => conflict.Message,
        _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
    };

    /// <summary>A client's mistake is not the server's: one warning line, never a stack trace.</summary>
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered {Status}: {Reason}")]
    private static partial void LogClientError(ILogger logger, string method, string path, int status, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path);
}

/// <summary>An ASP.NET Core result, run as the action result an HTTP function returns.</summary>
public sealed class HttpResultAction(IResult result) : IActionResult
{
    public IResult Result => result;

    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return result.ExecuteAsync(context.HttpContext);
    }
}
