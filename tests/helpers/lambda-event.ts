export { httpEvent, lambdaContext } from '../../infra/local/lambda-event';
